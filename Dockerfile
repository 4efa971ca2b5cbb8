# The dashboard image: Python only. The Socket.IO browser client is already in static/vendor/.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY pillow_web ./pillow_web
COPY templates ./templates
COPY static ./static
COPY config ./config
# Editable, so templates/, static/ and config/ are found beside the package, as in a checkout.
RUN pip install --no-cache-dir -c constraints.txt -e . \
    && useradd --system --home /app pillow

USER pillow
EXPOSE 5000
HEALTHCHECK --interval=10s --timeout=3s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/healthz', timeout=2)"
CMD ["pillow-web", "serve", "--host", "0.0.0.0"]

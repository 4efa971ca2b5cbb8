# The dashboard image: Python only. The Socket.IO browser client is already in static/vendor/.

# Stage 1: the wheel, which carries the package and its templates, static files and catalog.
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY pillow_web ./pillow_web
COPY templates ./templates
COPY static ./static
COPY config ./config
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

# Stage 2: the dependencies in a layer of their own (rebuilt only when pyproject.toml or
# constraints.txt change), then the wheel on top: the same install as anywhere else, not `-e`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY pyproject.toml constraints.txt /tmp/deps/
RUN python -c "import tomllib; print(*tomllib.load(open('/tmp/deps/pyproject.toml', 'rb'))\
['project']['dependencies'], sep='\n')" > /tmp/deps/requirements.txt \
    && pip install --no-cache-dir -c /tmp/deps/constraints.txt -r /tmp/deps/requirements.txt \
    && rm -rf /tmp/deps \
    && useradd --system --home-dir /app --create-home pillow

COPY --from=wheel /dist /tmp/dist
RUN pip install --no-cache-dir --no-deps /tmp/dist/*.whl && rm -rf /tmp/dist

USER pillow
WORKDIR /app
EXPOSE 5000
# Liveness, not /healthz: an Azure outage makes /healthz answer 503, and restarting the
# container would not bring the queue back. /livez answers while the process serves at all.
HEALTHCHECK --interval=10s --timeout=3s \
  CMD python -c "import os, ssl, urllib.request; tls = bool(os.environ.get('PILLOW_TLS_CERT')); \
urllib.request.urlopen('%s://127.0.0.1:%s/livez' % ('https' if tls else 'http', \
os.environ.get('PILLOW_PORT', '5000')), timeout=2, context=ssl._create_unverified_context())"
CMD ["pillow-web", "serve", "--host", "0.0.0.0"]

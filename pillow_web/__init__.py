"""pillow-web: the live state viewer for the Huggable Cloud Pillow.

The app factory is ``pillow_web.app.create_app``. This package module imports nothing on purpose:
the entry point (``pillow_web.__main__``) must monkey-patch gevent before Flask or the Azure SDK
load ``ssl``.
"""

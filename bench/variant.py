"""``python -m bench.variant ARGS``: ``pillow-web ARGS`` with one change, named by BENCH_VARIANT.

- ``simple-websocket``: gevent-websocket hidden, so python-engineio and ``web.server`` use the
  other stack they support (simple-websocket inside gevent's own WSGI handler);
- ``gc-freeze``: Python's cyclic collector kept off the held screens' objects: ``gc.freeze()``
  once the app is built (as gunicorn advises for preloaded workers) and again every 10 s, so
  the objects of screens connected since are out of every automatic collection too.

The bench's ``stack`` part measures each against the server as shipped. Nothing here is served
code: a variant the numbers favour is made the default in ``pillow_web`` itself.
"""

import os
import sys

from gevent import monkey

monkey.patch_all()

VARIANT = os.environ.get("BENCH_VARIANT", "")
FREEZE_EVERY = 10.0  # seconds

if VARIANT == "simple-websocket":
    sys.modules["geventwebsocket"] = None  # an import of it raises ImportError
elif VARIANT == "gc-freeze":
    import gc

    import gevent

    from pillow_web.web import server

    def freezing(create_app):
        def create(*args, **kwargs):
            app = create_app(*args, **kwargs)
            gc.freeze()
            gevent.spawn(refreeze)
            return app

        return create

    def refreeze():
        while True:
            gevent.sleep(FREEZE_EVERY)
            gc.freeze()

    server.create_app = freezing(server.create_app)
elif VARIANT:
    sys.exit(f"bench.variant: unknown BENCH_VARIANT {VARIANT!r}")

from pillow_web.__main__ import main  # noqa: E402

if __name__ == "__main__":
    main()

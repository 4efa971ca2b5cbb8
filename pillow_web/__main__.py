"""Entry point of ``pillow-web`` and ``python -m pillow_web``.

gevent patches the standard library before anything else is imported: Flask and the Azure SDK load
``ssl`` and sockets, and one unpatched blocking call would freeze every connected screen.
"""

from gevent import monkey

monkey.patch_all()

from pillow_web.cli import cli  # noqa: E402  (must come after the patch)


def main():
    cli(prog_name="pillow-web")


if __name__ == "__main__":
    main()

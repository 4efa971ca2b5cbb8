"""nginx with the repository's deploy/nginx.conf, filled in as docker's nginx image fills it.

The same file a person mounts in the nginx image: here its two placeholders get loopback
values, and a small main configuration around it keeps every path in the test's own folder.
"""

import os
import string
import subprocess
from pathlib import Path

from pillow_web.config import ROOT

from .services import Service, find, port_answers

TEMPLATE = ROOT / "deploy" / "nginx.conf"
PREFIX = "/pillow"  # the path prefix deploy/nginx.conf also serves the app under


class Placeholders(string.Template):
    """Only ``${UPPER_CASE}`` is a placeholder, as for docker's envsubst of the variables it was
    given; ``$host`` and the like are nginx's own variables and stay."""

    flags = 0
    pattern = (r"\$\{(?P<braced>[A-Z][A-Z0-9_]*)\}"
               r"|(?P<escaped>(?!))|(?P<named>(?!))|(?P<invalid>(?!))")


def render_site(listen, upstreams, template=TEMPLATE):
    """deploy/nginx.conf filled in (a missing value is a KeyError): ``upstreams`` as host:port."""
    servers = " ".join(f"server {upstream};" for upstream in upstreams)
    return Placeholders(Path(template).read_text()).substitute(
        NGINX_LISTEN=listen, NGINX_UPSTREAMS=servers)


class Nginx(Service):
    """nginx in the foreground with deploy/nginx.conf in front of ``upstreams`` (host:port)."""

    name = "nginx"

    def __init__(self, folder, upstreams, template=TEMPLATE, connections=4096):
        super().__init__(folder)
        self.site = self.folder / "pillow.conf"
        self.site.write_text(render_site(f"127.0.0.1:{self.port}", upstreams, template))
        self.config = self.folder / "nginx.conf"
        self.config.write_text(self._main_config(connections))

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def url_under(self, prefix=None):
        """The app's URL through this nginx: at the root, or under the template's prefix."""
        if prefix is None:
            return self.url
        if prefix.strip("/") != PREFIX.strip("/"):
            raise ValueError(f"deploy/nginx.conf serves the app under {PREFIX}/ only")
        return self.url + PREFIX

    def _main_config(self, connections):
        folder = self.folder
        return "\n".join([
            # As root, workers would run as "nobody", who cannot enter pytest's 0700 folders.
            "user root;" if os.geteuid() == 0 else "",
            "worker_processes 1;",
            f"events {{ worker_connections {connections}; }}",
            "http {",
            f"    access_log {folder}/access.log;",
            *(f"    {kind}_temp_path {folder}/{kind}_temp;"
              for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")),
            f"    include {self.site};",
            "}",
            "",
        ])

    def command(self, *options):
        folder = self.folder
        return [find("nginx"), "-p", f"{folder}/", "-c", str(self.config),
                "-e", f"{folder}/error.log",
                "-g", f"daemon off; pid {folder}/nginx.pid; error_log {folder}/error.log;",
                *options]

    def check(self):
        """``nginx -t`` on the rendered configuration: (exit code, what it said)."""
        done = subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30)
        return done.returncode, done.stdout + done.stderr + self.error_log()

    def error_log(self):
        path = self.folder / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def output(self):
        return super().output() + self.error_log()

    def answers(self):
        return port_answers(self.port)

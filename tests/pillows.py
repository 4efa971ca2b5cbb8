"""Helpers shared by the tests of several pillows on real processes (tests/test_pillows_live.py,
tests/test_pillows_roles.py): the [[pillow]] tables, each pillow's queue, the screens that name
their pillow in the connect auth, and a post as an operator makes it."""

import pytest
import requests
import socketio

from pillow_web.domain.messages import compose
from pillow_web.storage.account import Storage

from .procs import Screen

TOKEN = "operator-token-of-the-pillows"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NAMES = {"hall": "Hallway", "den": "Den", "attic": "Attic", "porch": "Porch"}
SHARED = ("attic", "porch")  # one queue; the others have one each


def write_pillows(path, queues):
    """A PILLOW_CONFIG file with a [[pillow]] table for each ``{id: queue}``, in order."""
    path.write_text("".join(f'[[pillow]]\nid = "{pillow}"\nname = "{NAMES[pillow]}"\n'
                            f'queue = "{queue}"\n\n' for pillow, queue in queues.items()),
                    encoding="utf-8")
    return path


def queues_for(base, pillows):
    """``{id: queue}``: the SHARED pillows on ``<base>-shared``, each other on one of its own."""
    return {pillow: f"{base}-shared" if pillow in SHARED else f"{base}-{pillow}"
            for pillow in pillows}


class PillowScreen(Screen):
    """A ``procs.Screen`` connected with the auth of a kiosk page ({"pillow": id} or
    {"overview": true}), that tells which pillow each state it got was about."""

    def texts(self):
        return [(state["pillow"], state["text"]) for state in self.received("state")]


class Screens:
    """``screens(url, auth)``: a connected PillowScreen; each is closed on leaving."""

    def __init__(self):
        self.opened = []

    def __call__(self, url, auth):
        self.opened.append(PillowScreen(url, auth=auth))
        return self.opened[-1]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for screen in self.opened:
            screen.close()


def refusal(url, auth):
    """What the server said when it refused a connect with ``auth`` (it must refuse it)."""
    client, said = socketio.Client(reconnection=False, handle_sigint=False), []
    client.on("connect_error", said.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(url, transports=["websocket"], auth=auth, wait_timeout=5)
    client.disconnect()
    return said


def post(server, pillow, state, text, headers=AUTH):
    """An operator's POST of ``pillow``'s state to ``server`` (anything with a ``url``)."""
    return requests.post(f"{server.url}/api/pillows/{pillow}/state", timeout=5, headers=headers,
                         json={"state": state, "text": text})


class Queues:
    """Each pillow's queue, as the pillow sees it: ``send(content, pillow)``, ``say(state, text,
    pillow)`` (naming the pillow if its queue serves others), ``storage(pillow)``."""

    def __init__(self, connection_string, queues):
        self.connection_string, self.queues, self.opened = connection_string, queues, {}

    def storage(self, pillow):
        queue = self.queues[pillow]
        if queue not in self.opened:
            self.opened[queue] = Storage(self.connection_string, queue, "pillow-web")
        return self.opened[queue]

    def __call__(self, content, pillow):
        return self.storage(pillow).send(content)

    def say(self, state, text, pillow):
        shared = list(self.queues.values()).count(self.queues[pillow]) > 1
        return self(compose(state, text, pillow=pillow if shared else None), pillow)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for storage in self.opened.values():
            storage.close()

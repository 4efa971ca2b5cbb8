"""The console's list of connected screens: what each page says of itself on connect (name,
page, build), held to strings cut short without control characters; several web workers' screens
in one list through Redis; at most 200 listed, the rest counted."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from pillow_web.app import create_app
from pillow_web.fleet_screens import LISTED, read_screens, screen_info
from pillow_web.web.events import socketio

from .procs import Screen
from .test_operator import TOKEN, sign_in
from .test_roles_web import Fleet, console_data
from .util import wait_for


@pytest.fixture
def console_app(settings):
    app = create_app({**settings, "OPERATOR_TOKEN": TOKEN, "BUILD_ID": "abc123def456"})
    app.extensions["pillow"].storage.ensure()
    yield app
    app.extensions["pillow"].storage.close()


@pytest.fixture
def screens(console_app):
    """``screens(auth)`` connects a Socket.IO test client (disconnected at the end)."""
    connected = []

    def connect(auth=None):
        client = socketio.test_client(console_app, auth=auth)
        assert client.is_connected()
        connected.append(client)
        return client

    yield connect
    for client in connected:
        if client.is_connected():
            client.disconnect()


def listed(console_app):
    browser = console_app.test_client()
    sign_in(browser)
    return browser.get("/operator/data.json").json


def test_connected_screens_are_listed_with_what_their_pages_said(console_app, screens):
    screens({"pillow": "default", "page": "/", "build": "abc123def456", "screen": "Lobby"})
    old = screens({"page": "/p/default", "build": "0ld0ld0ld0ld", "screen": "Café 2"})
    screens()  # a page of an older build says nothing
    data = listed(console_app)
    assert data["screens"] == 3
    assert [(s["name"], s["page"], s["build"], s["same_build"]) for s in data["screen_list"]] == [
        ("Lobby", "/", "abc123def456", True), ("Café 2", "/p/default", "0ld0ld0ld0ld", False),
        (None, None, None, None)]
    since = [screen["since"] for screen in data["screen_list"]]
    assert since == sorted(since) and all(s.endswith("Z") for s in since)
    old.disconnect()
    assert [s["name"] for s in listed(console_app)["screen_list"]] == ["Lobby", None]


@pytest.mark.parametrize("auth, name, page, build", [
    ({"screen": "x" * 100, "page": "/" + "p" * 999, "build": "b" * 41},
     "x" * 40, "/" + "p" * 199, "b" * 40),
    ({"screen": "Lob\x00by\n\u202eevil\u2066", "page": "/\x1b[31mred", "build": "abc\u200b"},
     "Lobbyevil", "/[31mred", "abc"),
    ({"screen": 7, "page": ["/"], "build": {"a": 1}, "extra": "ignored"}, None, None, None),
    ({"screen": "   ", "page": "", "build": "\x00\x01"}, None, None, None),
])
def test_hostile_values_are_cut_or_ignored_never_refused(console_app, screens, auth, name, page,
                                                         build):
    screens(auth)
    [screen] = listed(console_app)["screen_list"]
    assert (screen["name"], screen["page"], screen["build"]) == (name, page, build)


def test_a_screen_sending_no_object_at_all_is_listed_unnamed(console_app, screens):
    screens(["not", "an", "object"])
    browser = console_app.test_client()
    sign_in(browser)
    assert browser.get("/operator/data.json").json["screen_list"][0]["name"] is None
    page = browser.get("/operator/").get_data(as_text=True)
    assert re.search(r'class="screen-name">unnamed<', page)


def test_a_name_with_markup_reaches_the_page_escaped(console_app, screens):
    screens({"screen": "<img src=x onerror=alert(1)>", "page": "/p/<b>"})
    browser = console_app.test_client()
    sign_in(browser)
    page = browser.get("/operator/").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page


def test_at_most_200_are_listed_and_the_rest_counted(console_app):
    dashboard = console_app.extensions["pillow"]
    start = datetime(2026, 11, 27, tzinfo=UTC)
    for number in range(LISTED + 50):
        dashboard.screens[f"sid-{number}"] = screen_info(
            {"screen": f"#{number}"}, start + timedelta(seconds=LISTED + 50 - number))
    data = listed(console_app)
    assert data["screens"] == LISTED + 50 and len(data["screen_list"]) == LISTED
    assert data["screen_list"][0]["name"] == f"#{LISTED + 49}"  # the longest connected first
    browser = console_app.test_client()
    sign_in(browser)
    assert "and 50 more" in browser.get("/operator/").get_data(as_text=True)


@pytest.mark.parametrize("text, expected", [
    (None, (0, [])), ("7", (7, [])), ("not json", (0, [])), ("[1, 2]", (0, [])),
    ('{"count": -1, "screens": []}', (0, [])), ('{"count": true}', (0, [])),
    ('{"count": 2, "screens": "no"}', (2, [])),
    ('{"count": 2, "screens": [{"name": "A", "since": "yesterday"}, 5,'
     ' {"name": "B\\u0000\\u202e", "page": 9, "since": "2026-11-27T10:00:00"}]}',
     (2, [{"name": "B", "page": None, "build": None, "since": "2026-11-27T10:00:00.000Z"}])),
])
def test_another_process_entry_is_held_to_the_same_rules(text, expected):
    assert read_screens(text) == expected


def test_two_web_workers_through_redis_give_one_list(dashboards, azurite, redis_server):
    fleet = Fleet(dashboards, azurite, redis_server.url)
    try:
        fleet.consumer()
        first, second = fleet.web(), fleet.web()
        fleet.screens += [Screen(first.url, auth={"screen": "Lobby", "page": "/", "build": "zzz"}),
                          Screen(second.url, auth={"overview": True, "screen": "Wall",
                                                   "page": "/overview"})]
        one_list(first, second)
    finally:
        fleet.close()


def one_list(first, second):
    def names(dashboard):
        return sorted(screen["name"] for screen in console_data(dashboard)["screen_list"])

    for dashboard in (first, second):
        wait_for(lambda dashboard=dashboard: names(dashboard) == ["Lobby", "Wall"], 10,
                 f"{dashboard.url}'s console to list both screens")
    listing = console_data(first)["screen_list"]
    assert {screen["name"]: screen["same_build"] for screen in listing} == {
        "Lobby": False, "Wall": None}
    assert {screen["name"]: screen["page"] for screen in listing} == {
        "Lobby": "/", "Wall": "/overview"}

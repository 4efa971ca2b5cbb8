"""The settings of several pillows: the [[pillow]] tables, the fields a table may leave out, what
makes one a config error, and the file PILLOW_CONFIG names."""

import pytest

from pillow_web import config
from pillow_web.config import ConfigError


def load(pillows=None, environ=None):
    """The PILLOWS setting as ``config.load`` makes it."""
    return config.load({"PILLOWS": pillows} if pillows is not None else None,
                       environ=environ or {})["PILLOWS"]


SILENCE = {"silent_after": 0, "silent_shows_notconnected": False}  # the settings' defaults


def test_no_pillow_tables_make_the_one_default_pillow_on_the_queue_setting():
    assert load() == [{"id": "default", "name": "Cloud Pillow", "queue": "pillow-state",
                       "states_file": "config/states.toml", **SILENCE}]
    assert load([], {"PILLOW_QUEUE": "from-env"})[0]["queue"] == "from-env"


def test_a_pillow_table_gets_the_fields_it_leaves_out_from_the_settings():
    pillows = load([{"id": "hall"}, {"id": "den", "name": " Den ", "queue": "q-den",
                                     "states_file": "config/other.toml"}])
    assert pillows == [
        {"id": "hall", "name": "hall", "queue": "pillow-state",
         "states_file": "config/states.toml", **SILENCE},
        {"id": "den", "name": "Den", "queue": "q-den", "states_file": "config/other.toml",
         **SILENCE}]


@pytest.mark.parametrize("tables, message", [
    ([{"id": "Hall"}], "[[pillow]] number 1: id must be 1-32 of a-z, 0-9, _ and -"),
    ([{"id": "x" * 33}], "id must be 1-32"),
    ([{"id": "../etc"}], "id must be 1-32"),
    ([{"name": "No id"}], "[[pillow]] number 1: id must be"),
    ([{"id": 7}], "not 7"),
    ([{"id": "hall"}, {"id": "den"}, {"id": "hall"}], "[[pillow]] 'hall' is listed twice"),
    ([{"id": "hall", "colour": "red"}], "[[pillow]] number 1 has unknown keys colour"),
    ([{"id": "hall", "queue": "Pillow_Hall"}], "[[pillow]] 'hall': queue must be 3-56 lowercase"),
    ([{"id": "hall", "queue": "a--b"}], "queue must be 3-56"),
    ([{"id": "hall", "name": "x" * 61}], "[[pillow]] 'hall': name must be 1-60 characters"),
    ([{"id": "hall", "name": "   "}], "name must be 1-60 characters"),
    ([{"id": "hall", "states_file": 3}], "states_file must be a path"),
    (["hall"], "[[pillow]] number 1 is not a table"),
    ({"id": "hall"}, "[[pillow]] tables"),  # a [pillow] table, not an array of them
    ([{"id": "hall", "silent_after": "10 min"}],
     "[[pillow]] 'hall': silent_after must be whole seconds from 0 (off) to 604800, not '10 min'"),
    ([{"id": "hall", "silent_after": -1}], "silent_after must be whole seconds"),
    ([{"id": "hall", "silent_after": 604801}], "silent_after must be whole seconds"),
    ([{"id": "hall", "silent_after": 1.5}], "silent_after must be whole seconds"),
    ([{"id": "hall", "silent_after": True}], "silent_after must be whole seconds"),
    ([{"id": "hall", "silent_shows_notconnected": "yes"}],
     "[[pillow]] 'hall': silent_shows_notconnected must be true or false, not 'yes'"),
])
def test_a_bad_pillow_table_is_a_config_error_that_names_the_problem(tables, message):
    with pytest.raises(ConfigError) as caught:
        load(tables)
    assert message in str(caught.value)


def test_pillow_tables_are_read_from_the_file_named_by_pillow_config(tmp_path):
    path = tmp_path / "pillows.toml"
    path.write_text('queue = "q-main"\n\n[[pillow]]\nid = "hall"\nname = "Hallway"\n'
                    'queue = "q-hall"\n\n[[pillow]]\nid = "den"\n', encoding="utf-8")
    pillows = load(environ={"PILLOW_CONFIG": str(path)})
    assert [(p["id"], p["name"], p["queue"]) for p in pillows] == [
        ("hall", "Hallway", "q-hall"), ("den", "den", "q-main")]
    path.write_text('[[pillow]]\nid = "hall"\n\n[[pillow]]\nid = "hall"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="'hall' is listed twice"):
        load(environ={"PILLOW_CONFIG": str(path)})


def test_a_pillow_s_silence_comes_from_its_table_else_from_the_settings(tmp_path):
    path = tmp_path / "pillows.toml"
    path.write_text('silent_after = 900\nsilent_shows_notconnected = true\n\n[[pillow]]\n'
                    'id = "hall"\n\n[[pillow]]\nid = "den"\nsilent_after = 0\n\n[[pillow]]\n'
                    'id = "attic"\nsilent_after = 60\nsilent_shows_notconnected = false\n',
                    encoding="utf-8")
    pillows = load(environ={"PILLOW_CONFIG": str(path)})
    assert [(p["id"], p["silent_after"], p["silent_shows_notconnected"]) for p in pillows] == [
        ("hall", 900, True), ("den", 0, True), ("attic", 60, False)]
    alone = load(environ={"PILLOW_SILENT_AFTER": "300"})
    assert (alone[0]["silent_after"], alone[0]["silent_shows_notconnected"]) == (300, False)

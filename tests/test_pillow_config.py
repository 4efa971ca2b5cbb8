"""The settings of several pillows: the [[pillow]] tables, the fields a table may leave out, what
makes one a config error, and the file PILLOW_CONFIG names."""

import pytest

from pillow_web import config
from pillow_web.config import ConfigError


def load(pillows=None, environ=None):
    """The PILLOWS setting as ``config.load`` makes it."""
    return config.load({"PILLOWS": pillows} if pillows is not None else None,
                       environ=environ or {})["PILLOWS"]


def test_no_pillow_tables_make_the_one_default_pillow_on_the_queue_setting():
    assert load() == [{"id": "default", "name": "Cloud Pillow", "queue": "pillow-state",
                       "states_file": "config/states.toml"}]
    assert load([], {"PILLOW_QUEUE": "from-env"})[0]["queue"] == "from-env"


def test_a_pillow_table_gets_the_fields_it_leaves_out_from_the_settings():
    pillows = load([{"id": "hall"}, {"id": "den", "name": " Den ", "queue": "q-den",
                                     "states_file": "config/other.toml"}])
    assert pillows == [
        {"id": "hall", "name": "hall", "queue": "pillow-state",
         "states_file": "config/states.toml"},
        {"id": "den", "name": "Den", "queue": "q-den", "states_file": "config/other.toml"}]


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

"""The state catalog is data: checked at start, with errors that name the problem."""

import pytest

from pillow_web.config import ROOT, ConfigError
from pillow_web.domain.catalog import Catalog

IMAGES = ROOT / "static" / "img"


def test_default_catalog_has_the_original_states_each_with_its_own_image():
    catalog = Catalog.load(ROOT / "config" / "states.toml", IMAGES)
    assert catalog.names == ["NEUTRAL", "HUGGING", "NOTCONNECTED", "PUNCHING", "SHAKING",
                             "SPINNING", "THROWING"]
    assert catalog.initial.name == "NOTCONNECTED"
    images = [catalog[name].image for name in catalog.names]
    assert len(set(images)) == len(images)
    for image in images:
        assert (IMAGES / image).read_bytes().lstrip().startswith(b"<svg")
    assert "hugging" in catalog and catalog["hugging"].text


def write(tmp_path, body):
    path = tmp_path / "states.toml"
    path.write_text(body)
    return path


def test_adding_a_state_is_a_config_edit(tmp_path):
    (tmp_path / "sleepy.svg").write_text("<svg/>")
    path = write(tmp_path, '[[state]]\nname = "sleepy"\nimage = "sleepy.svg"\ntext = "Zzz"\n')
    catalog = Catalog.load(path, tmp_path)
    assert catalog.names == ["SLEEPY"] and catalog.initial.name == "SLEEPY"


@pytest.mark.parametrize("body, message", [
    ('[[state]]\nname = "A"\nimage = "missing.svg"\n', "missing.svg does not exist"),
    ('[[state]]\nname = "A"\nimage = "../secret.svg"\n', "must be a file name"),
    ('[[state]]\nname = "no spaces"\nimage = "a.svg"\n', "must be letters"),
    ('[[state]]\nname = "A"\nimage = "a.svg"\ncolor = "red"\n', "color 'red'"),
    ('[[state]]\nname = "A"\nimage = "a.svg"\nsize = 3\n', "only name, image"),
    ('[[state]]\nname = "A"\nimage = "a.svg"\n[[state]]\nname = "a"\nimage = "a.svg"\n',
     "duplicate states A"),
    ('initial = "B"\n[[state]]\nname = "A"\nimage = "a.svg"\n', "initial state 'B'"),
    ("state = [", "states.toml"),
    ("", "no [[state]] entries"),
])
def test_bad_catalog_fails_with_a_clear_error(tmp_path, body, message):
    (tmp_path / "a.svg").write_text("<svg/>")
    with pytest.raises(ConfigError, match=None) as caught:
        Catalog.load(write(tmp_path, body), tmp_path)
    assert message in str(caught.value)

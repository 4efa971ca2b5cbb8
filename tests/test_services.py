"""The scale-out tests' Redis itself, as the fixtures run it (nginx: tests/test_nginx.py)."""

from urllib.parse import urlsplit

import pytest

from .services import port_answers, redis_ping, shared_redis

PONG = b"+PONG\r\n"


def test_redis_answers_ping_at_its_url(redis_server):
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    assert redis_server.ping() == PONG


def test_redis_stops_dies_and_comes_back_on_the_same_port(redis_server):
    port, first = redis_server.port, redis_server.process.pid
    redis_server.stop()
    with pytest.raises(ConnectionRefusedError):
        redis_server.ping()
    redis_server.start()
    assert (redis_server.port, redis_server.ping()) == (port, PONG)
    assert redis_server.process.pid != first
    redis_server.kill()
    with pytest.raises(ConnectionRefusedError):
        redis_server.ping()
    redis_server.restart()
    assert (redis_server.port, redis_server.ping()) == (port, PONG)


def test_a_frozen_redis_takes_connections_but_never_answers(redis_server):
    redis_server.freeze()
    with pytest.raises(TimeoutError):
        redis_server.ping(timeout=0.3)
    redis_server.thaw()
    assert redis_server.ping() == PONG


def test_the_session_redis_answers(redis_url):
    address = urlsplit(redis_url)
    assert redis_ping(address.hostname, address.port or 6379) == PONG


def test_a_redis_already_running_is_used_as_it_is(redis_server, tmp_path):
    with shared_redis(tmp_path / "own", {"PILLOW_TEST_REDIS_URL": redis_server.url}) as url:
        assert url == redis_server.url
    assert not (tmp_path / "own").exists()  # nothing of its own was started
    assert redis_server.ping() == PONG  # and the one named is left running


def test_without_one_a_redis_of_its_own_runs_until_the_end(tmp_path):
    with shared_redis(tmp_path / "own", {}) as url:
        port = urlsplit(url).port
        assert redis_ping("127.0.0.1", port) == PONG
    assert not port_answers(port)

"""Storage accounts without account keys: Entra ID sign-in, and SAS connection strings.

Entra ID runs against a real Azurite serving HTTPS with ``--oauth basic`` and a self-signed
certificate made here. The token comes from where a real deployment gets it: ``pillow-web``
subprocesses run DefaultAzureCredential, which finds the App Service style managed-identity
endpoint (IDENTITY_ENDPOINT, IDENTITY_HEADER) this test serves on loopback (see ``identity``).
"""

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import generate_account_sas

from pillow_web.app import create_app
from pillow_web.cli import cli
from pillow_web.config import AZURITE_KEY, ROOT, ConfigError
from pillow_web.storage.account import redact
from pillow_web.storage.azurite import Azurite

from .identity import STORAGE_AUDIENCE, TokenEndpoint, make_certificate, unsigned_jwt
from .util import wait_for


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (certificate PEM, key PEM) paths."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def oauth_azurite(tls):
    """An in-memory Azurite on free ports, HTTPS only, taking bearer tokens; stopped after."""
    cert, key = tls
    server = Azurite(cert=cert, key=key, oauth=True).start()
    yield server
    server.stop()


@pytest.fixture
def identity(monkeypatch, tls):
    """The token endpoint, in the environment that ``pillow-web`` subprocesses inherit, with the
    test certificate as their CA bundle (azure-core's requests transport reads
    REQUESTS_CA_BUNDLE)."""
    endpoint = TokenEndpoint()
    endpoint.server.start()
    for key, value in endpoint.environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls[0]))
    yield endpoint
    endpoint.server.stop()


def signed_in(azurite):
    """Settings that reach ``azurite`` by signing in: no connection string."""
    return {"QUEUE_ENDPOINT": azurite.queue_endpoint, "BLOB_ENDPOINT": azurite.blob_endpoint}


def pillow_web(*args, **settings):
    """Run ``pillow-web`` in a subprocess with ``PILLOW_<key>`` settings; the finished process."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PILLOW_")}
    env.update({f"PILLOW_{key}": str(value) for key, value in settings.items()})
    return subprocess.run([sys.executable, "-m", "pillow_web", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_managed_identity_serves_and_posts_without_any_key(identity, oauth_azurite,
                                                              dashboards):
    queue = f"i-{uuid.uuid4().hex[:12]}"
    dashboard = dashboards("", queue, **signed_in(oauth_azurite))  # waits for /healthz 200

    posted = pillow_web("post", "hugging", QUEUE=queue, **signed_in(oauth_azurite))
    assert posted.returncode == 0, posted.stderr
    assert "posted HUGGING" in posted.stdout
    wait_for(lambda: dashboard.state()["state"] == "HUGGING", message="the posted state shown")

    listed = pillow_web("poison", "list", QUEUE=queue, **signed_in(oauth_azurite))
    assert listed.returncode == 0, listed.stderr
    assert identity.requests and all(request == (TokenEndpoint.HEADER, STORAGE_AUDIENCE)
                                     for request in identity.requests)
    assert "eyJ" not in dashboard.output() + posted.stderr + listed.stderr  # no token logged


def test_a_token_for_another_audience_gives_one_redacted_line(identity, oauth_azurite,
                                                              dashboards):
    identity.audience = "https://management.azure.com"
    dashboard = dashboards("", None, ready=False, POLL_MAX=0.3, **signed_in(oauth_azurite))

    def degraded():
        dashboard.check_alive()
        if dashboard.health() != 503:  # None while it does not accept connections yet
            return None
        body = dashboard.get("/healthz").json()
        return "audience" in dashboard.output() and body["status"] == "degraded" and body

    body = wait_for(degraded, 30, "/healthz and the log to say why it cannot read the queue")
    assert body["reason"] == "storage refused the credentials"  # public: no detail
    first_poll = body["last_poll"]
    wait_for(lambda: dashboard.get("/healthz").json()["last_poll"] != first_poll, 10,
             "another failed poll")

    log = dashboard.output()
    [line] = [line for line in log.splitlines() if "audience" in line or "unreachable" in line]
    assert line.endswith("unreachable: ClientAuthenticationError: AuthenticationFailed: "
                         "Invalid token audience."), log
    assert "Traceback" not in log and "Attempted credentials" not in log and "eyJ" not in log


def test_no_identity_is_one_clear_line_from_the_cli(identity, oauth_azurite):
    identity.refuse = True
    for command in (["post", "hugging"], ["poison", "list"]):
        done = pillow_web(*command, **signed_in(oauth_azurite))
        assert done.returncode == 1
        [line] = done.stderr.splitlines()
        assert line.startswith("Error: storage: ClientAuthenticationError: no Entra ID sign-in "
                               "worked (ManagedIdentityCredential: "), line
        assert "No managed identity is assigned to this app" in line
        assert done.stdout == ""


def test_account_settings_choose_one_way_to_reach_storage():
    app = create_app({"TESTING": True, "STORAGE_ACCOUNT": "pillowprod"})
    storage = app.extensions["pillow"].storage
    try:
        assert storage.queue.url.startswith("https://pillowprod.queue.core.windows.net/")
        assert storage.container.url.startswith("https://pillowprod.blob.core.windows.net/")
        assert app.config["CONNECTION_STRING"] == ""  # not the Azurite default
    finally:
        storage.close()

    conflicts = {
        "settings CONNECTION_STRING and STORAGE_ACCOUNT are both set": {
            "STORAGE_ACCOUNT": "pillowprod", "CONNECTION_STRING": "UseDevelopmentStorage=true"},
        "settings STORAGE_ACCOUNT and QUEUE_ENDPOINT/BLOB_ENDPOINT are both set": {
            "STORAGE_ACCOUNT": "pillowprod", "QUEUE_ENDPOINT": "https://q.example"},
        "setting BLOB_ENDPOINT is needed too": {"QUEUE_ENDPOINT": "https://q.example/acct"},
        "setting QUEUE_ENDPOINT must be an https:// URL": {
            "QUEUE_ENDPOINT": "http://127.0.0.1:10001/devstoreaccount1",
            "BLOB_ENDPOINT": "https://127.0.0.1:10000/devstoreaccount1"},
        "setting STORAGE_ACCOUNT must be 3-24 lowercase letters or digits": {
            "STORAGE_ACCOUNT": "Pillow_Prod"},
    }
    for message, settings in conflicts.items():
        with pytest.raises(ConfigError, match=message):
            create_app({"TESTING": True, **settings})
    with pytest.raises(ConfigError) as caught:
        create_app({"TESTING": True, "QUEUE_ENDPOINT": "https://q.example/?sv=1&sig=SECRETSIG",
                    "BLOB_ENDPOINT": "https://b.example"})
    assert "SECRETSIG" not in str(caught.value)


def test_bearer_tokens_are_redacted():
    token = unsigned_jwt(STORAGE_AUDIENCE)
    assert redact(f"Authorization: Bearer {token}; retry") == "Authorization: Bearer ***; retry"


def sas_connection_string(connection_string, resource_types, permission):
    """``connection_string`` (Azurite's) with an account SAS in place of the account key."""
    sas = generate_account_sas("devstoreaccount1", AZURITE_KEY, resource_types, permission,
                               expiry=datetime.now(UTC) + timedelta(hours=1), services="bq")
    endpoints = [part for part in connection_string.split(";") if "Endpoint=" in part]
    return ";".join(endpoints + [f"SharedAccessSignature={sas}"])


def test_sas_connection_strings_serve_and_a_send_only_one_posts(azurite, settings, storage,
                                                                runner):
    reader = sas_connection_string(azurite, "sco", "rwdlacup")
    app = create_app({**settings, "CONNECTION_STRING": reader})
    pillow = app.extensions["pillow"]
    pillow.watcher.start()
    try:
        wait_for(lambda: pillow.watcher.link.healthy(), message="the watcher reading via SAS")
        # What a pillow is given: add messages, nothing else (it may not create the queues).
        sender = sas_connection_string(azurite, "o", "a")
        result = runner.invoke(cli, ["post", "hugging"], env={"PILLOW_CONNECTION_STRING": sender})
        assert result.exit_code == 0, result.output
        wait_for(lambda: pillow.store.current.state == "HUGGING", message="the posted state")
    finally:
        pillow.watcher.stop()
        pillow.storage.close()


def test_a_sas_missing_a_permission_names_it_redacted(azurite, settings, storage):
    no_process = sas_connection_string(azurite, "sco", "rwdlacu")  # cannot receive messages
    app = create_app({**settings, "CONNECTION_STRING": no_process})
    pillow = app.extensions["pillow"]
    pillow.watcher.start()
    try:
        error = wait_for(lambda: pillow.watcher.link.last_error, message="a failed poll")
        assert error == ("HttpResponseError: AuthorizationPermissionMismatch: This request is "
                         "not authorized to perform this operation using this permission.")
        body = app.test_client().get("/healthz")
        assert body.status_code == 503 and "last_error" not in body.json
        assert body.json["reason"] == "the credentials lack a permission"
        assert pillow.watcher.link.status(detail=True)["last_error"] == error  # the console's
    finally:
        pillow.watcher.stop()
        pillow.storage.close()

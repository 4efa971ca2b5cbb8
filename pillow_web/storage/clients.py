"""How pillow-web reaches its storage account: a connection string, or Microsoft Entra ID sign-in.

A connection string carries its own secret (an account key or a SAS). With endpoints instead,
``DefaultAzureCredential`` signs in (environment, workload identity, managed identity, `az login`)
and the clients send its bearer tokens, which Azure Storage accepts only over HTTPS.

Clients get a short retry policy (the SDK default blocks ~87 s on a dead endpoint) and share a
connection pool big enough to delete a whole batch at once.
"""

import logging
import re
from dataclasses import dataclass

import requests
from azure.core.exceptions import AzureError
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import ContainerClient
from azure.storage.queue import LinearRetry, QueueClient

log = logging.getLogger(__name__)

POOL_SIZE = 64
# The first line of DefaultAzureCredential's report, then one "\t<Credential>: <why>" per try.
SIGN_IN_FAILED = "DefaultAzureCredential failed to retrieve a token"
ATTEMPT = re.compile(r"^\t(\w+): (.*)$")
UNAVAILABLE = re.compile(r"\b\w+Credential (?:authentication )?unavailable\.\s*")
NOISE = re.compile(r"\s*(?:Visit|See|Please visit|To mitigate)\b[^.]*https?://\S+|https?://\S+")
SECRET = re.compile(r"((?:AccountKey|SharedAccessSignature|sig)=)[^;&\s'\"]+", re.IGNORECASE)
BEARER_TOKEN = re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*")  # a JWT: header.claims.signature


def redact(text):
    """``text`` with account keys, SAS signatures and bearer tokens replaced by ``***``."""
    return BEARER_TOKEN.sub("***", SECRET.sub(r"\1***", str(text)))


@dataclass(frozen=True)
class Account:
    """Where the queues and the snapshot container live, and how to sign in to them.

    Either ``connection_string``, or both endpoints (the settings check makes it one or the other).
    """

    connection_string: str = ""
    queue_endpoint: str = ""
    blob_endpoint: str = ""

    @classmethod
    def from_settings(cls, settings):
        return cls(settings["CONNECTION_STRING"], settings["QUEUE_ENDPOINT"],
                   settings["BLOB_ENDPOINT"])

    @property
    def signs_in(self):
        return not self.connection_string


class Clients:
    """Makes the SDK clients of one account; they share one connection pool and one credential.

    ``account`` is an ``Account`` or a connection string. ValueError names the setting that is not
    usable.
    """

    def __init__(self, account):
        self.account = Account(account) if isinstance(account, str) else account
        self.credential = self._sign_in() if self.account.signs_in else None
        self._session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    @staticmethod
    def _sign_in():
        # Imported here: only accounts without a connection string pay for loading msal.
        from azure.identity import DefaultAzureCredential

        # It logs every failed sign-in as a WARNING a dozen lines long, once per poll; the same
        # failure reaches our log, /healthz and the CLI as one line (see ``describe``).
        quiet = max(logging.ERROR, logging.getLogger().level)
        logging.getLogger("azure.identity").setLevel(quiet)
        try:
            return DefaultAzureCredential()
        except ValueError as exc:  # e.g. an AZURE_TOKEN_CREDENTIALS it does not know
            first = str(exc).strip().splitlines()[0]
            raise ValueError(f"Entra ID sign-in is not usable: {first}") from None

    def _options(self):
        return {
            "transport": RequestsTransport(session=self._session, session_owner=False),
            "retry_policy": LinearRetry(backoff=0.5, retry_total=2, random_jitter_range=0.2),
            "connection_timeout": 3,
            "read_timeout": 10,
        }

    def queue(self, name):
        if self.account.signs_in:
            return QueueClient(self.account.queue_endpoint, name, credential=self.credential,
                               **self._options())
        return self._from_connection_string(QueueClient, name)

    def container(self, name):
        if self.account.signs_in:
            return ContainerClient(self.account.blob_endpoint, name, credential=self.credential,
                                   **self._options())
        return self._from_connection_string(ContainerClient, name)

    def _from_connection_string(self, client, name):
        try:
            return client.from_connection_string(self.account.connection_string, name,
                                                 **self._options())
        except (ValueError, AzureError) as exc:
            first = (str(exc).strip().splitlines() or [""])[0]
            raise ValueError("setting CONNECTION_STRING is not usable: "
                             + redact(f"{type(exc).__name__}: {first}"[:300])) from None

    def close(self):
        if self.credential is not None:
            self.credential.close()
        self._session.close()


def sign_in_failure(text):
    """DefaultAzureCredential's many-line report as one line: each credential tried, and why not.

    None when ``text`` is not such a report.
    """
    if not text.startswith(SIGN_IN_FAILED):
        return None
    attempts = [match.groups() for match in map(ATTEMPT.match, text.splitlines()) if match]
    reasons = []
    for number, (name, why) in enumerate(attempts, 1):
        why = NOISE.sub("", UNAVAILABLE.sub("", why)).strip().removeprefix(f"{name} ")
        if number < len(attempts):  # the last one may have failed for real: keep all it says
            why = why.split(". ")[0]
        reasons.append(f"{name}: {why.rstrip('.') or 'not available here'}")
    return "no Entra ID sign-in worked (" + "; ".join(reasons) + ")"

"""Azure Storage access: the state queue, its poison queue and the snapshot blob.

Clients get a short retry policy (the SDK default blocks ~87 s on a dead endpoint) and a connection
pool big enough to delete a whole batch at once.
"""

import json
import logging
import re
from datetime import UTC, datetime

import gevent.pool
import requests
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import ContainerClient
from azure.storage.queue import LinearRetry, QueueClient

from .config import ConfigError

log = logging.getLogger(__name__)

BATCH = 32  # the most Azure returns per receive
POOL_SIZE = 64
# Deletes in flight per batch. More is not faster: Azurite serialises requests and slows down with
# many waiting (measured on 1,000 queued: 8 at a time drained ~20% faster than 32), and on Azure 8
# keeps a batch of 32 to four round trips.
DELETE_CONCURRENCY = 8
POISON_INLINE_MAX = 32 * 1024
SECRET = re.compile(r"((?:AccountKey|SharedAccessSignature|sig)=)[^;&\s'\"]+", re.IGNORECASE)


def redact(text):
    """``text`` with account keys and SAS signatures replaced by ``***``."""
    return SECRET.sub(r"\1***", str(text))


def describe(exc):
    """One redacted line about a storage error, fit for logs, /healthz and the status event."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return redact(f"{type(exc).__name__}: {first}"[:300])


class Storage:
    """The three storage objects pillow-web uses, built from one connection string."""

    def __init__(self, connection_string, queue, container):
        self.queue_name = queue
        self.poison_name = f"{queue}-poison"
        self._session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        options = {
            "retry_policy": LinearRetry(backoff=0.5, retry_total=2, random_jitter_range=0.2),
            "connection_timeout": 3,
            "read_timeout": 10,
        }
        try:
            self.queue = QueueClient.from_connection_string(
                connection_string, queue, transport=self._transport(), **options)
            self.poison = QueueClient.from_connection_string(
                connection_string, self.poison_name, transport=self._transport(), **options)
            self.container = ContainerClient.from_connection_string(
                connection_string, container, transport=self._transport(), **options)
        except (ValueError, AzureError) as exc:
            raise ValueError(f"setting CONNECTION_STRING is not usable: {describe(exc)}") from None
        self.snapshot_blob = self.container.get_blob_client(f"{queue}/snapshot.json")

    @classmethod
    def from_settings(cls, settings):
        """The storage named by the CONNECTION_STRING, QUEUE and CONTAINER settings."""
        try:
            return cls(settings["CONNECTION_STRING"], settings["QUEUE"], settings["CONTAINER"])
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    def _transport(self):
        return RequestsTransport(session=self._session, session_owner=False)

    def ensure(self):
        """Create the queues and the snapshot container if they are missing."""
        for create in (self.queue.create_queue, self.poison.create_queue,
                       self.container.create_container):
            try:
                create()
            except ResourceExistsError:
                pass

    def receive(self, visibility_timeout):
        """Up to 32 messages in one request (``messages_per_page`` or it is one per message)."""
        return list(self.queue.receive_messages(
            max_messages=BATCH, messages_per_page=BATCH, visibility_timeout=visibility_timeout))

    def send(self, text):
        return self.queue.send_message(text)

    def delete(self, messages):
        """Delete ``messages``, a few at a time; ones already gone are not an error.

        Every delete is tried, then the first storage error is raised: a failed greenlet would
        print its traceback past our logging, once per message, in the middle of an outage.
        """
        pool = gevent.pool.Pool(DELETE_CONCURRENCY)
        errors = [error for error in pool.imap_unordered(self._delete_one, messages) if error]
        if errors:
            raise errors[0]

    def _delete_one(self, message):
        """Delete one message; return the storage error instead of raising it."""
        try:
            self.queue.delete_message(message)
        except ResourceNotFoundError:
            log.info("message %s was already deleted or re-delivered", message.id)
        except HttpResponseError as exc:
            # It outlived the visibility timeout and was received again: whoever holds it now
            # applies (or, same id, skips) and deletes it. Not an outage.
            if exc.error_code != "PopReceiptMismatch":
                return exc
            log.info("message %s was received again before its delete", message.id)
        except AzureError as exc:
            return exc
        return None

    def to_poison(self, message, reason):
        """Copy ``message`` to the poison queue with ``reason``, then delete it here."""
        record = {
            "reason": reason,
            "content": message.content,
            "message_id": message.id,
            "inserted_on": message.inserted_on and message.inserted_on.isoformat(),
            "dequeue_count": message.dequeue_count,
            "poisoned_at": datetime.now(UTC).isoformat(),
        }
        body = json.dumps(record, ensure_ascii=False)
        if len(body.encode()) > POISON_INLINE_MAX:
            # Too big to nest in a queue message (64 KiB): keep the original in a blob instead.
            record["content_blob"] = f"{self.poison_name}/{message.id}"
            self.container.upload_blob(record["content_blob"], message.content.encode(),
                                       overwrite=True)
            record["content"] = message.content[:200]
            body = json.dumps(record, ensure_ascii=False)
        # time_to_live=-1: a poisoned message waits for a person, it never expires.
        self.poison.send_message(body, time_to_live=-1)
        self.delete([message])
        log.warning("poisoned message %s: %s", message.id, reason)

    def load_snapshot(self):
        try:
            return json.loads(self.snapshot_blob.download_blob().readall())
        except ResourceNotFoundError:
            return None

    def save_snapshot(self, snapshot):
        self.snapshot_blob.upload_blob(json.dumps(snapshot).encode(), overwrite=True)

    def close(self):
        for client in (self.queue, self.poison, self.container):
            client.close()
        self._session.close()

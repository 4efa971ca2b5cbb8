"""Azure Storage access: the state queue, its poison queue and the snapshot blob.

How the clients reach the account (connection string or Entra ID sign-in) is in ``clients``.
"""

import json
import logging
from datetime import UTC, datetime

import gevent.pool
from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ResourceNotModifiedError,
)

from ..config import ConfigError
from ..domain.state import BadSnapshot
from .clients import Account, Clients, redact, sign_in_failure

log = logging.getLogger(__name__)

BATCH = 32  # the most Azure returns per receive
# Deletes in flight per batch. More is not faster: Azurite serialises requests and slows down with
# many waiting (measured on 1,000 queued: 8 at a time drained ~20% faster than 32), and on Azure 8
# keeps a batch of 32 to four round trips.
DELETE_CONCURRENCY = 8
POISON_INLINE_MAX = 32 * 1024
UNCHANGED = object()  # load_snapshot_if_changed: the snapshot still has the etag given
# Refusals of an operation the identity or SAS was not granted (as opposed to a bad signature).
NOT_GRANTED = {"AuthorizationPermissionMismatch", "AuthorizationResourceTypeMismatch"}


def describe(exc):
    """One redacted line about a storage or sign-in error, for logs, /healthz and the status event.

    The service's error code and detail say more than its first line ("Server failed to
    authenticate the request…"); a failed Entra ID sign-in says why each way was not possible.
    """
    text = str(exc).strip()
    line = sign_in_failure(text) or (text.splitlines()[0] if text else "")
    code = error_code(exc)
    if code:
        detail = (getattr(exc, "additional_info", None) or {}).get("authenticationerrordetail")
        line = f"{code}: {detail or line}"
    return redact(f"{type(exc).__name__}: {line}"[:700])


def error_code(exc):
    """The storage service's error code (e.g. ``AuthorizationPermissionMismatch``), or None."""
    code = getattr(exc, "error_code", None)
    return getattr(code, "value", code)


class SnapshotNotJSON(BadSnapshot):
    """The snapshot blob holds no JSON (something else wrote it); ``etag`` names that version."""

    def __init__(self, reason, etag):
        super().__init__(reason)
        self.etag = etag


class StorageUnavailable(RuntimeError):
    """Storage did not take a request; ``str(exc)`` is one redacted line about why."""


class Storage:
    """The three storage objects pillow-web uses, on one account.

    ``account`` is a connection string or a ``clients.Account`` (endpoints to sign in to).
    ``clients`` shares another storage's (``on_queue``).
    """

    def __init__(self, account, queue, container, clients=None):
        self.queue_name = queue
        self.poison_name = f"{queue}-poison"
        self._owns_clients = clients is None
        self._clients = clients or Clients(account)
        self.queue = self._clients.queue(queue)
        self.poison = self._clients.queue(self.poison_name)
        self.container = self._clients.container(container)
        self.snapshot_blob = self.container.get_blob_client(f"{queue}/snapshot.json")

    @classmethod
    def from_settings(cls, settings, queue=None):
        """The storage named by the account settings (see ``config``), ``queue`` (default:
        QUEUE) and CONTAINER."""
        try:
            return cls(Account.from_settings(settings), queue or settings["QUEUE"],
                       settings["CONTAINER"])
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    def on_queue(self, queue):
        """The storage of ``queue`` on this account and container, sharing this one's connection
        pool and credential (closed with this one)."""
        return Storage(self._clients.account, queue, self.container.container_name, self._clients)

    def ensure(self):
        """Create the queues and the snapshot container if they are missing and we may.

        An identity or SAS granted only messages (e.g. "Storage Queue Data Message Processor")
        may not create queues; then they must exist already, and the next call says so if not.
        """
        for name, create in ((self.queue_name, self.queue.create_queue),
                             (self.poison_name, self.poison.create_queue),
                             (self.container.container_name, self.container.create_container)):
            try:
                create()
            except ResourceExistsError:
                pass
            except HttpResponseError as exc:
                if error_code(exc) not in NOT_GRANTED:
                    raise
                log.debug("not allowed to create %s; using it as it is", name)

    def receive(self, visibility_timeout):
        """Up to 32 messages in one request (``messages_per_page`` or it is one per message)."""
        return list(self.queue.receive_messages(
            max_messages=BATCH, messages_per_page=BATCH, visibility_timeout=visibility_timeout))

    def send(self, text):
        """Queue ``text``; raise StorageUnavailable (one redacted line) if the queue cannot."""
        try:
            return self.queue.send_message(text)
        except AzureError as exc:
            raise StorageUnavailable(describe(exc)) from None

    def depth(self):
        """Approximate number of messages waiting, or None while the queue cannot say."""
        return self._count(self.queue)

    def poison_count(self):
        """Approximate number of poisoned messages, or None while the queue cannot say."""
        return self._count(self.poison)

    def _count(self, queue):
        try:
            return queue.get_queue_properties().approximate_message_count
        except AzureError as exc:
            log.info("could not count %s: %s", queue.queue_name, describe(exc))
            return None

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
        return self.load_snapshot_if_changed(None)[0]

    def load_snapshot_if_changed(self, etag):
        """``(snapshot, etag)``; ``snapshot`` is None if there is none yet (or the blob is the
        empty one a lease holds), and ``(UNCHANGED, etag)`` if it still has ``etag``: a standby
        that checks often then pays for a 304, not a download."""
        options = {"etag": etag, "match_condition": MatchConditions.IfModified} if etag else {}
        try:
            download = self.snapshot_blob.download_blob(**options)
            data = download.readall()
        except ResourceNotFoundError:
            return None, None
        except (ResourceNotModifiedError, ResourceModifiedError):
            # Azure answers 304 to a read whose If-None-Match matches; Azurite answers 412.
            return UNCHANGED, etag
        etag = download.properties.etag
        try:
            return (json.loads(data) if data else None), etag
        except ValueError as exc:  # UnicodeDecodeError is one too
            raise SnapshotNotJSON(f"not JSON ({type(exc).__name__}: {exc})", etag) from None

    def save_snapshot(self, snapshot, lease=None):
        """Write the snapshot; with ``lease`` (the lease id) only while that lease holds it."""
        self.snapshot_blob.upload_blob(json.dumps(snapshot).encode(), overwrite=True, lease=lease)

    def close(self):
        for client in (self.queue, self.poison, self.container):
            client.close()
        if self._owns_clients:
            self._clients.close()

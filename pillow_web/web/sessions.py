"""Operator sign-ins that the server can end: a random id in the cookie, the rest kept here.

Flask's cookie is signed, not revocable: a copy saved before sign-out stayed valid for 31 days,
and any token material in it could be guessed offline. The cookie now carries only a random id;
sign-out, expiry or a changed operator token end it here, whatever copies of the cookie exist.
Kept in this process's memory, so a restart signs everyone out.
"""

import hashlib
import hmac
import secrets
from collections import OrderedDict
from time import monotonic

LIFETIME = 12 * 3600  # seconds; an operator signs in again after a working day
MAX_SESSIONS = 1000


class OperatorSessions:
    def __init__(self, lifetime=LIFETIME, max_sessions=MAX_SESSIONS):
        self.lifetime, self.max_sessions = lifetime, max_sessions
        self._sessions = OrderedDict()  # id -> (expires at, which operator token it was for)

    @staticmethod
    def _token_tag(token):
        # Only to notice a changed token; it never leaves this process.
        return hashlib.sha256(token.encode()).digest()

    def start(self, token):
        """A new session id for whoever just proved they know ``token``."""
        session_id = secrets.token_urlsafe(32)
        self._sessions[session_id] = (monotonic() + self.lifetime, self._token_tag(token))
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)  # the oldest sign-in goes first
        return session_id

    def valid(self, session_id, token):
        """Whether ``session_id`` is a live sign-in made with the current operator ``token``."""
        if not isinstance(session_id, str) or not token:
            return False
        entry = self._sessions.get(session_id)
        if entry is None:
            return False
        expires, tag = entry
        if monotonic() >= expires:
            del self._sessions[session_id]
            return False
        return hmac.compare_digest(tag, self._token_tag(token))

    def end(self, session_id):
        self._sessions.pop(session_id, None)

"""How the app reaches its storage account: a connection string, or endpoints to sign in to."""

from urllib.parse import urlsplit

from .config import ACCOUNT_NAME, ACCOUNT_SETTINGS, SETTINGS, ConfigError


def storage_account(values):
    """A connection string, or two https endpoints to sign in to (STORAGE_ACCOUNT names Azure's
    public ones); a connection string set too (not the built-in Azurite one) is an error."""
    account, queue, blob = (values[name].strip() for name in ACCOUNT_SETTINGS)
    if not (account or queue or blob):
        return {}
    if account and (queue or blob):
        raise ConfigError("settings STORAGE_ACCOUNT and QUEUE_ENDPOINT/BLOB_ENDPOINT are both set:"
                          " give the account name, or both endpoints")
    if account:
        if not ACCOUNT_NAME.match(account):
            raise ConfigError("setting STORAGE_ACCOUNT must be 3-24 lowercase letters or digits,"
                              f" not {account!r}")
        queue = f"https://{account}.queue.core.windows.net"
        blob = f"https://{account}.blob.core.windows.net"
    for name, url in (("QUEUE_ENDPOINT", queue), ("BLOB_ENDPOINT", blob)):
        if not url:
            raise ConfigError(f"setting {name} is needed too (or STORAGE_ACCOUNT instead of both)")
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
            shown = url.split("?", 1)[0].split("#", 1)[0][:100]  # a query may hold a SAS
            raise ConfigError(f"setting {name} must be an https:// URL with no query (Entra ID "
                              f"tokens are only sent over TLS), not {shown!r}")
    given = values["CONNECTION_STRING"].strip()
    if given and given != SETTINGS["CONNECTION_STRING"].default:
        other = "STORAGE_ACCOUNT" if account else "QUEUE_ENDPOINT/BLOB_ENDPOINT"
        raise ConfigError(f"settings CONNECTION_STRING and {other} are both set: use the "
                          "connection string, or sign in with Entra ID, not both")
    return {"CONNECTION_STRING": "", "QUEUE_ENDPOINT": queue, "BLOB_ENDPOINT": blob}

"""Entra ID for the tests: a self-signed certificate, unsigned tokens, a managed-identity endpoint.

Azurite's ``--oauth basic`` checks a token's audience, issuer and times, not its signature, so an
unsigned JWT stands for the one Entra ID would issue; the endpoint hands it out as App Service's
managed-identity endpoint does, to whatever DefaultAzureCredential runs in a ``pillow-web``
process.
"""

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from gevent.pywsgi import WSGIServer

STORAGE_AUDIENCE = "https://storage.azure.com"
TENANT = "00000000-0000-0000-0000-000000000001"


def make_certificate(folder):
    """A self-signed certificate for 127.0.0.1 in ``folder``: (certificate PEM, key PEM) paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pillow-web test Azurite")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def unsigned_jwt(audience):
    """A token as Entra ID would issue for ``audience``, unsigned (``alg: none``)."""
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"aud": audience, "iss": f"https://sts.windows.net/{TENANT}/", "iat": now - 60,
              "nbf": now - 60, "exp": now + 3600, "oid": str(uuid.uuid4())}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


class TokenEndpoint:
    """An App Service style managed-identity endpoint on loopback.

    It hands out tokens for ``audience``; with ``refuse`` it answers as App Service does for an app
    that has no identity. ``requests`` records (X-IDENTITY-HEADER, resource) of each request.
    """

    HEADER = "identity-header-of-this-test"

    def __init__(self):
        self.audience = STORAGE_AUDIENCE
        self.refuse = False
        self.requests = []
        self.server = WSGIServer(("127.0.0.1", 0), self.answer, log=None, error_log=None)

    def answer(self, environ, start_response):
        header = environ.get("HTTP_X_IDENTITY_HEADER")
        resource = parse_qs(environ.get("QUERY_STRING", "")).get("resource", [""])[0]
        self.requests.append((header, resource))
        if self.refuse or header != self.HEADER:
            status, body = "400 Bad Request", {
                "statusCode": 400, "message": "No managed identity is assigned to this app."}
        else:
            status, body = "200 OK", {
                "access_token": unsigned_jwt(self.audience), "resource": resource,
                "expires_on": str(int(time.time()) + 3600), "token_type": "Bearer"}
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(data)))])
        return [data]

    def environment(self):
        """What App Service sets, and DefaultAzureCredential narrowed to a managed identity (so
        nothing from the developer's own sign-ins is tried)."""
        return {"IDENTITY_ENDPOINT": f"http://127.0.0.1:{self.server.server_port}/msi/token",
                "IDENTITY_HEADER": self.HEADER,
                "AZURE_TOKEN_CREDENTIALS": "ManagedIdentityCredential"}

"""Wire-level fake of the Bot Framework's OpenID metadata and signing keys, and a token minter
that signs as the Bot Connector does (RS256, `kid`, keys endorsing channels, `serviceurl`)."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from fakes.threaded import ThreadedServer

__all__ = ["FakeOpenId", "SigningKey"]

ISSUER = "https://api.botframework.com"
METADATA_PATH = "/v1/.well-known/openidconfiguration"
KEYS_PATH = "/v1/.well-known/keys"


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class SigningKey:
    kid: str
    endorsements: list[str]
    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def jwk(self) -> dict[str, Any]:
        """As login.botframework.com lists a key (x5c left out: the validator reads n and e)."""
        numbers = self.private.public_key().public_numbers()
        return {"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid,
                "n": _b64(numbers.n), "e": _b64(numbers.e),
                "endorsements": self.endorsements}  # fmt: skip


class FakeOpenId(ThreadedServer):
    """Serves the metadata document and the key set; counts fetches; can be made slow or
    failing."""

    name = "fake-openid"

    def __init__(self) -> None:
        super().__init__()
        self.teams_key = SigningKey("teams-key-1", ["msteams", "skype"])
        self.webchat_key = SigningKey("webchat-key-1", ["webchat"])
        self.published = [self.teams_key, self.webchat_key]
        self.metadata_fetches = 0
        self.keys_fetches = 0
        self.delay = 0.0  # seconds before the metadata document is answered
        self.status = 200  # what the metadata document is answered with

    @property
    def url(self) -> str:
        """The metadata URL (TEAMS_OPENID_METADATA_URL)."""
        return f"http://127.0.0.1:{self.port}{METADATA_PATH}"

    def release(self) -> None:
        self.delay = 0.0

    def routes(self, app: web.Application) -> None:
        app.router.add_get(METADATA_PATH, self._metadata)
        app.router.add_get(KEYS_PATH, self._keys)

    async def _metadata(self, _request: web.Request) -> web.Response:
        self.metadata_fetches += 1
        deadline = time.monotonic() + self.delay
        while time.monotonic() < deadline and self.delay:
            await asyncio.sleep(0.05)
        if self.status != 200:
            return web.json_response({"error": "unavailable"}, status=self.status)
        base = f"http://127.0.0.1:{self.port}"
        return web.json_response({
            "issuer": ISSUER,
            "authorization_endpoint": "https://invalid.botframework.com",
            "jwks_uri": base + KEYS_PATH,
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        })  # fmt: skip

    async def _keys(self, _request: web.Request) -> web.Response:
        self.keys_fetches += 1
        return web.json_response({"keys": [k.jwk() for k in self.published]})

    def token(
        self,
        app_id: str,
        service_url: str,
        *,
        key: SigningKey | None = None,
        kid: str | None = "",
        lifetime: float = 3600,
        claims: dict[str, Any] | None = None,
    ) -> str:
        """A Bearer header value as the Bot Connector sends it. `kid` "" means the key's own,
        None leaves it out; a negative `lifetime` gives a token that expired that long ago."""
        key = key or self.teams_key
        now = int(time.time())
        body = {"serviceurl": service_url, "nbf": now - 300, "exp": now + int(lifetime),
                "iss": ISSUER, "aud": app_id, "jti": uuid.uuid4().hex} | (claims or {})  # fmt: skip
        headers = {} if kid is None else {"kid": kid or key.kid}
        return "Bearer " + jwt.encode(body, key.private, "RS256", headers=headers)

    def hs256_token(self, app_id: str, service_url: str) -> str:
        """An HMAC token naming a published key (the algorithm-confusion attack)."""
        now = int(time.time())
        body = {"serviceurl": service_url, "nbf": now - 300, "exp": now + 3600,
                "iss": ISSUER, "aud": app_id}  # fmt: skip
        secret = "not-the-key-but-the-kid-says-it-is-0123456789"
        return "Bearer " + jwt.encode(body, secret, "HS256", headers={"kid": self.teams_key.kid})

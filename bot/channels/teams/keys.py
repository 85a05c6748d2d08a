"""Bot Framework signing keys: fetched in the background, only read from memory by requests.

botframework-connector keeps one OpenID metadata object per metadata URL in
`JwtTokenExtractor.metadataCache` and asks it `get(kid)` for each token; its own object fetches
with blocking `requests` on the event loop, once per request while the endpoint fails. Ours is
put in that cache instead: the library's validation (issuer, audience, endorsements, expiry,
algorithm, service URL) is unchanged, and only where its keys come from differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from botframework.connector.auth import AuthenticationConstants, GovernmentConstants
from botframework.connector.auth.channel_validation import ChannelValidation
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor
from jwt.algorithms import RSAAlgorithm
from jwt.exceptions import InvalidKeyError

log = logging.getLogger("goalnudge.teams")
REFRESH_SECONDS = 24 * 3600.0  # as the library does: Microsoft rotates keys over weeks
RETRY_SECONDS = 300.0  # after a failed fetch (the keys already known are kept meanwhile)
UNKNOWN_KID_SECONDS = 3600.0  # an unknown kid asks for a refresh at most this often
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass(frozen=True)
class SigningKey:
    """What the library reads from a metadata entry: the key and the channels it endorses."""

    public_key: Any
    endorsements: list[str]


class SigningKeys:
    """One OpenID metadata document's keys. `url` None: a source whose tokens are never
    accepted here (the Emulator's and skills' Azure AD keys: goalnudge talks to Teams only)."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.keys: dict[str, SigningKey] = {}
        self.fetches = 0
        self.last_try = -UNKNOWN_KID_SECONDS
        self.wake = asyncio.Event()

    async def get(self, key_id: str | None) -> SigningKey:
        """Never fetches: an unknown key is refused now and, at most hourly, refetched soon."""
        key = self.keys.get(key_id) if key_id else None
        if key is None:
            if key_id and self.url and time.monotonic() - self.last_try > UNKNOWN_KID_SECONDS:
                self.wake.set()
            raise PermissionError("the token is not signed by a known Bot Framework key")
        return key

    async def refresh(self) -> bool:
        self.last_try = time.monotonic()
        self.fetches += 1
        try:
            async with aiohttp.ClientSession(timeout=FETCH_TIMEOUT) as http:
                async with http.get(str(self.url)) as response:
                    response.raise_for_status()
                    jwks_uri = (await response.json(content_type=None))["jwks_uri"]
                async with http.get(jwks_uri) as response:
                    response.raise_for_status()
                    listed = (await response.json(content_type=None))["keys"]
            keys = {
                k["kid"]: SigningKey(
                    RSAAlgorithm.from_jwk(json.dumps(k)), list(k.get("endorsements", []))
                )
                for k in listed
                if isinstance(k, dict) and k.get("kid") and k.get("kty") == "RSA"
            }
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError,
                InvalidKeyError) as exc:  # fmt: skip
            log.warning(
                "could not fetch the Bot Framework signing keys (%s: %s); %d known keys kept",
                type(exc).__name__,
                exc,
                len(self.keys),
            )
            return False
        self.keys = keys
        return True

    async def run(self) -> None:
        """Refresh daily (every few minutes while failing), or soon after an unknown key."""
        while True:
            ok = await self.refresh()
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), REFRESH_SECONDS if ok else RETRY_SECONDS)


def install(metadata_url: str | None) -> SigningKeys:
    """Put our key sources in the library's metadata cache; `metadata_url` None: accept no
    token at all (no TEAMS_APP_ID: only unauthenticated local development)."""
    channel = SigningKeys(metadata_url)
    channel_url = (
        ChannelValidation.open_id_metadata_endpoint
        or AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL
    )
    JwtTokenExtractor.metadataCache[channel_url] = channel
    for url in (
        AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL,
        GovernmentConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL,
        GovernmentConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
    ):
        JwtTokenExtractor.metadataCache[url] = SigningKeys(None)
    return channel


def refreshing(keys: SigningKeys) -> Any:
    """An aiohttp cleanup context: the refresh runs while the web application does."""

    async def context(_app: object) -> AsyncIterator[None]:
        task = asyncio.create_task(keys.run(), name="teams-signing-keys") if keys.url else None
        yield
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    return context

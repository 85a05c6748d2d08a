"""Secrets at rest: the Fernet box for stored tokens, the start-up check and the key rotation."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from bot.core.errors import ConfigError
from storage.models import SlackInstallationRow

VARIABLE = "GOALNUDGE_SECRET_KEY"
# Every column that holds a secret goalnudge stored itself; each is Fernet ciphertext.
SECRET_COLUMNS: tuple[InstrumentedAttribute[str], ...] = (SlackInstallationRow.bot_token_encrypted,)


def parse_keys(value: str) -> list[str]:
    """The comma-separated Fernet keys of the setting; ValueError (never echoing a key) if bad."""
    keys = [key.strip() for key in value.split(",") if key.strip()]
    if not keys:
        raise ValueError("no key given; make one with `goalnudge secrets key`")
    for number, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except ValueError:
            raise ValueError(
                f"key {number} of {len(keys)} is not a Fernet key (32 url-safe base64-encoded "
                "bytes); make one with `goalnudge secrets key`"
            ) from None
    return keys


def new_key() -> str:
    return Fernet.generate_key().decode()


class SecretBox:
    """Encrypts with the first key; decrypts with any of them (cryptography's MultiFernet)."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    @classmethod
    def from_setting(cls, value: str | None) -> SecretBox | None:
        return cls(parse_keys(value)) if value else None

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise undecryptable(1) from None

    def rotate(self, stored: str) -> str:
        """The same secret, encrypted again with the first key."""
        try:
            return self._fernet.rotate(stored.encode()).decode()
        except InvalidToken:
            raise undecryptable(1) from None

    def opens(self, stored: str) -> bool:
        try:
            self._fernet.decrypt(stored.encode())
        except InvalidToken:
            return False
        return True


def undecryptable(count: int) -> ConfigError:
    return ConfigError(
        f"{VARIABLE}: none of its keys decrypts {count} stored token(s); put back the key "
        f"that encrypted them (when rotating, keep the old key after the new one until "
        f"`goalnudge secrets rotate` has run)"
    )


async def _stored(session: AsyncSession) -> list[tuple[InstrumentedAttribute[str], int, str]]:
    found = []
    for column in SECRET_COLUMNS:
        model = column.class_
        rows = await session.execute(select(model.id, column))
        found += [(column, row_id, value) for row_id, value in rows.all()]
    return found


async def check(sessions: async_sessionmaker[AsyncSession], box: SecretBox | None) -> int:
    """At start-up: refuse a missing key, or keys that open nothing, when secrets are stored.
    Returns how many secrets are stored."""
    async with sessions() as session:
        stored = await _stored(session)
    if stored and box is None:
        raise ConfigError(
            f"{VARIABLE}: not set, but the database holds {len(stored)} encrypted token(s) "
            f"(Slack workspaces installed through OAuth); set the key that encrypted them"
        )
    if box is not None:
        closed = sum(not box.opens(value) for _, _, value in stored)
        if closed:
            raise undecryptable(closed)
    return len(stored)


async def rotate(sessions: async_sessionmaker[AsyncSession], box: SecretBox) -> int:
    """Encrypt every stored secret again with the first key, all or none; returns how many."""
    async with sessions() as session, session.begin():
        stored = await _stored(session)
        closed = sum(not box.opens(value) for _, _, value in stored)
        if closed:
            raise undecryptable(closed)
        for column, row_id, value in stored:
            model = column.class_
            await session.execute(
                update(model).where(model.id == row_id).values({column.key: box.rotate(value)})
            )
    return len(stored)

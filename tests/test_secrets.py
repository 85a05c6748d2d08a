"""Secrets at rest: stored Slack tokens are Fernet ciphertext; the key rotates; start-up checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from test_cli import goalnudge

from bot.app import open_app
from bot.config import Settings
from bot.core.errors import ConfigError
from bot.logs import Redactor
from storage import SecretBox, Store, open_store, upgrade
from storage.installations import Installed
from storage.secrets import check, rotate

TOKEN = "xoxb-1111-2222-secret-bot-token"
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


async def installed(url: str, keys: list[str]) -> Store:
    """A migrated database with one Slack workspace installed, its token encrypted with `keys`."""
    await upgrade(url)
    store = open_store(url, box=SecretBox(keys))
    slug = await store.installations.save(
        Installed("T1", "Acme Payments", TOKEN, org_slug="slack-T1"), "Europe/Berlin"
    )
    assert slug == "slack-T1"
    return store


async def stored_ciphertext(store: Store) -> str:
    async with store.engine.connect() as connection:
        raw = await connection.scalar(text("SELECT bot_token_encrypted FROM slack_installations"))
    return str(raw)


async def test_a_token_is_stored_encrypted_and_read_back_whole(db_url: str) -> None:
    store = await installed(db_url, [OLD])
    try:
        found = await store.installations.find("T1")
        assert found is not None and found.bot_token == TOKEN
        assert (found.org_slug, found.team_name) == ("slack-T1", "Acme Payments")
        raw = await stored_ciphertext(store)
        assert TOKEN not in raw and "secret" not in raw and raw.startswith("gAAAAA")
        org = await store.for_org("slack-T1").directory.organisation()
        assert (org.name, org.timezone) == ("Acme Payments", "Europe/Berlin")
    finally:
        await store.close()


async def test_rotation_moves_every_token_to_the_new_key(db_url: str) -> None:
    store = await installed(db_url, [OLD])
    before = await stored_ciphertext(store)
    sessions = store.scope.sessions
    try:
        assert await rotate(sessions, SecretBox([NEW, OLD])) == 1
        assert await stored_ciphertext(store) != before
        assert await check(sessions, SecretBox([NEW])) == 1
        new_only = open_store(db_url, box=SecretBox([NEW]))
        found = await new_only.installations.find("T1")
        await new_only.close()
        assert found is not None and found.bot_token == TOKEN
        with pytest.raises(ConfigError, match=r"^GOALNUDGE_SECRET_KEY: none of its keys decrypts"):
            await check(sessions, SecretBox([OLD]))
        with pytest.raises(ConfigError, match="GOALNUDGE_SECRET_KEY"):
            await rotate(sessions, SecretBox([OLD]))
    finally:
        await store.close()


async def test_start_up_refuses_a_missing_or_wrong_key_once_tokens_are_stored(db_url: str) -> None:
    await upgrade(db_url)
    async with open_app(Settings(database_url=db_url)):
        pass  # nothing stored yet: no key needed
    await (await installed(db_url, [OLD])).close()
    with pytest.raises(ConfigError) as missing:
        async with open_app(Settings(database_url=db_url)):
            pass
    assert str(missing.value) == (
        "GOALNUDGE_SECRET_KEY: not set, but the database holds 1 encrypted token(s) (Slack "
        "workspaces installed through OAuth); set the key that encrypted them"
    )
    with pytest.raises(ConfigError, match="GOALNUDGE_SECRET_KEY: none of its keys"):
        async with open_app(Settings(database_url=db_url, goalnudge_secret_key=NEW)):
            pass
    async with open_app(Settings(database_url=db_url, goalnudge_secret_key=OLD)) as app:
        assert [w.team_id for w in await app.store.installations.all()] == ["T1"]


async def test_secrets_commands_as_an_operator_runs_them(tmp_path: Path) -> None:
    made = goalnudge("secrets", "key", cwd=tmp_path, SLACK_CLIENT_ID="set-but-no-key-yet")
    assert made.returncode == 0
    Fernet(made.stdout.strip())  # a real key, printed alone
    assert goalnudge("secrets", "key", cwd=tmp_path).stdout != made.stdout
    url = f"sqlite+aiosqlite:///{tmp_path / 'rotate.db'}"
    await (await installed(url, [OLD])).close()

    rotated = goalnudge(
        "secrets", "rotate", cwd=tmp_path, DATABASE_URL=url, GOALNUDGE_SECRET_KEY=f"{NEW},{OLD}"
    )
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.startswith("Re-encrypted 1 stored token(s) with the first key")
    export = goalnudge("org", "export", cwd=tmp_path, DATABASE_URL=url, GOALNUDGE_SECRET_KEY=NEW)
    assert export.returncode == 0 and "slug: slack-T1" in export.stdout
    old = goalnudge("org", "export", cwd=tmp_path, DATABASE_URL=url, GOALNUDGE_SECRET_KEY=OLD)
    assert old.returncode == 2 and old.stdout == ""
    assert old.stderr.startswith("goalnudge: GOALNUDGE_SECRET_KEY: none of its keys decrypts 1")
    bad = goalnudge("org", "export", cwd=tmp_path, DATABASE_URL=url, GOALNUDGE_SECRET_KEY="hunter2")
    assert bad.returncode == 2 and "hunter2" not in bad.stderr
    assert bad.stderr.splitlines() == [
        "goalnudge: GOALNUDGE_SECRET_KEY: key 1 of 1 is not a Fernet key (32 url-safe "
        "base64-encoded bytes); make one with `goalnudge secrets key`"
    ]


def test_each_key_is_masked_in_log_lines() -> None:
    settings = Settings(goalnudge_secret_key=f"{NEW},{OLD}")
    redact = Redactor(settings.secrets())
    assert redact(f"rotating from {OLD} to {NEW}") == "rotating from [redacted] to [redacted]"

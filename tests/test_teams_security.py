"""Teams under hostile and broken input, through the real server: identities bound to the
tenant, reads checked, dedupe per conversation, bad cards, bodies bounded, hung connector."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import teams_activities as ta
from conftest import running, sample_database
from fakes.bot_connector import FakeConnector
from test_teams import ALICE, FARID, MAYA, Teams, nudge_alice

from bot.channels.teams.payloads import NOT_OURS
from bot.config import Settings
from bot.demo import SAMPLE_DATA
from bot.server import WORKER, tick

OTHER_TENANT = "0ddba11d-0000-4000-8000-0000000e71ec"
STRANGER = ta.TeamsUser.from_email("alice@acme.example", "Alice Chen", tenant=OTHER_TENANT)
SAM = ta.TeamsUser.from_email("sam@acme.example", "Sam Ortiz")
NUDGE_TIME = datetime(2026, 11, 16, 16, 30, tzinfo=ZoneInfo("America/New_York"))


@asynccontextmanager
async def serving(tmp_path: Path, **settings: Any) -> AsyncIterator[Teams]:
    """The sample organisation served on loopback, with a fake Bot Connector."""
    url = await sample_database(tmp_path / "teams.db")
    configured = Settings(database_url=url, goalnudge_sample_data=SAMPLE_DATA, **settings)
    async with FakeConnector() as fake, running(configured) as on:
        api = f"{on.base}/api/messages"
        yield Teams(fake, on.app, on.channel, on.clock, api, on.http, on.web_app[WORKER])


@pytest.fixture
async def teams(tmp_path: Path) -> AsyncIterator[Teams]:
    async with serving(tmp_path) as served:
        yield served


@pytest.fixture
async def quick_teams(tmp_path: Path) -> AsyncIterator[Teams]:
    """With a 1 s timeout on each call to the connector."""
    async with serving(tmp_path, teams_timeout_seconds=1) as served:
        yield served


def texts(teams: Teams, conversation: str) -> list[str]:
    return [json.dumps(s.body, ensure_ascii=False) for s in teams.to(conversation)]


def said(teams: Teams, user: ta.TeamsUser, text: str, activity_id: str) -> dict[str, object]:
    return ta.message(
        user,
        text,
        service_url=teams.fake.url,
        conversation_id=user.personal_conversation_id,
        activity_id=activity_id,
    )


def add_stranger(teams: Teams) -> None:
    """The stranger of another tenant, in the roster with Alice's email."""
    u = STRANGER
    teams.fake.add_member(u.personal_conversation_id, u.id, u.name, u.email, u.aad_object_id)


async def test_someone_from_another_tenant_with_alices_email_is_not_alice(
    teams: Teams, caplog: pytest.LogCaptureFixture
) -> None:
    await teams.install(ALICE)  # binds the organisation to Alice's tenant
    add_stranger(teams)
    caplog.set_level(logging.INFO)
    for n in range(2):
        status, _ = await teams.post(said(teams, STRANGER, "goals", f"s-{n}"))
        assert status in (200, 201)
    replies = texts(teams, STRANGER.personal_conversation_id)
    assert len(replies) == 2 and all("I don't know you yet" in r for r in replies)
    assert not any("Close $600k" in r for r in replies)
    alice = await teams.app.deps.directory.person("alice@acme.example")
    assert alice is not None and alice.ids.get("teams") == ALICE.aad_object_id
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].levelno == logging.WARNING
    assert OTHER_TENANT in refusals[0].getMessage()
    assert not any("@" in r.getMessage() for r in caplog.records if r.name.startswith("goal"))
    teams.clock.set(NUDGE_TIME)
    await tick(teams.app, teams.channel)
    assert any("Close $600k" in t for t in texts(teams, ALICE.personal_conversation_id))
    assert not any("Close $600k" in t for t in texts(teams, STRANGER.personal_conversation_id))


async def test_with_a_configured_tenant_even_the_first_stranger_is_refused(tmp_path: Path) -> None:
    async with serving(tmp_path, teams_app_tenant_id=ta.TENANT_ID) as teams:
        add_stranger(teams)
        await teams.post(said(teams, STRANGER, "goals", "first"))
        assert "I don't know you yet" in texts(teams, STRANGER.personal_conversation_id)[0]
        await teams.install(ALICE)
        alice = await teams.app.deps.directory.person("alice@acme.example")
        assert alice is not None and alice.ids.get("teams") == ALICE.aad_object_id


async def test_a_second_teams_id_in_the_tenant_never_replaces_a_known_one(teams: Teams) -> None:
    await teams.install(ALICE)
    twin = ta.TeamsUser.from_email("alice.twin@acme.example", "Alice Chen")
    teams.fake.add_member(
        twin.personal_conversation_id, twin.id, twin.name, ALICE.email, twin.aad_object_id
    )
    await teams.post(said(teams, twin, "goals", "t-1"))
    assert "I don't know you yet" in texts(teams, twin.personal_conversation_id)[0]
    alice = await teams.app.deps.directory.person("alice@acme.example")
    assert alice is not None and alice.ids.get("teams") == ALICE.aad_object_id


async def test_a_team_installed_from_another_tenant_does_not_take_a_digest_channel(
    teams: Teams,
) -> None:
    await teams.install(ALICE)
    theirs = ta.TeamsTeam("19:theirs0general@thread.tacv2", "Platform", "group-x")
    stranger = ta.TeamsUser.from_email("mallory@evil.example", tenant=OTHER_TENANT)
    update = ta.conversation_update_members_added(stranger, service_url=teams.fake.url, team=theirs)
    assert (await teams.post(update))[0] in (200, 201)
    assert await teams.app.store.conversations.get("teams", "Platform") is None


def details(teams: Teams, user: ta.TeamsUser, team: str) -> dict[str, object]:
    return ta.card_action(
        user,
        "details",
        {"verb": "details", "team": team},
        service_url=teams.fake.url,
        conversation_id=user.personal_conversation_id,
        reply_to_id="digest-1",
    )


async def test_details_of_a_team_are_shown_only_to_those_who_may_read_them(teams: Teams) -> None:
    for user in (FARID, SAM):
        await teams.install(user)
    status, body = await teams.post(details(teams, FARID, "Sales East"))
    assert status == 200
    assert "Only Sales East's manager or a leader" in json.dumps(body, ensure_ascii=False)
    seen = json.dumps([body, texts(teams, FARID.personal_conversation_id)], ensure_ascii=False)
    assert "Close $600k" not in seen and "Alice" not in seen
    status, body = await teams.post(details(teams, SAM, "Sales East"))
    assert status == 200 and "Details posted below" in json.dumps(body)
    assert any("Close $600k" in t for t in texts(teams, SAM.personal_conversation_id))


async def test_the_same_activity_id_in_two_conversations_gets_two_replies(teams: Teams) -> None:
    for user in (ALICE, MAYA):
        await teams.install(user)
    for user in (ALICE, MAYA):
        assert (await teams.post(said(teams, user, "help", "same-id")))[0] in (200, 201)
    for user in (ALICE, MAYA):
        assert len(texts(teams, user.personal_conversation_id)) == 2  # welcome, then help
    await teams.post(said(teams, ALICE, "help", "same-id"))  # replayed in the same chat
    assert len(texts(teams, ALICE.personal_conversation_id)) == 2


@pytest.mark.parametrize(
    "data",
    [
        {"verb": "confirm", "c": "abc"},
        {"verb": "confirm", "c": 2**40},
        {"verb": "confirm", "c": {}},
        {"verb": "confirm", "c": "1", "note": ["a list"]},
        {"verb": "launch_missiles", "c": "1"},
        "just a string",
    ],
)
async def test_a_card_goalnudge_did_not_make_is_refused_with_one_warning(
    teams: Teams, caplog: pytest.LogCaptureFixture, data: object
) -> None:
    await nudge_alice(teams)
    caplog.set_level(logging.INFO)
    caplog.clear()
    for n in range(2):  # invoke (Action.Execute), twice; then the Action.Submit fallback
        action = ta.card_action(
            ALICE,
            "confirm",
            {},
            service_url=teams.fake.url,
            conversation_id=ALICE.personal_conversation_id,
            reply_to_id=f"act-{n}",
        )
        action["value"]["action"]["data"] = data  # type: ignore[index]
        if isinstance(data, dict):
            action["value"]["action"]["verb"] = data["verb"]  # type: ignore[index]
        status, body = await teams.post(action)
        assert status == 200 and NOT_OURS in json.dumps(body, ensure_ascii=False)
    submit = ta.card_submit(
        ALICE,
        {},
        service_url=teams.fake.url,
        conversation_id=ALICE.personal_conversation_id,
        reply_to_id="act-9",
    )
    submit["value"] = data
    assert (await teams.post(submit))[0] in (200, 201)
    kr = await teams.app.deps.directory.key_result("arr-alice")
    assert kr is not None and kr.current == 300_000
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)
    ours = [r for r in caplog.records if r.name.startswith("goalnudge")]
    assert len([r for r in ours if r.levelno == logging.WARNING]) == 1


@pytest.mark.parametrize("name", ["adaptiveCard/action", "composeExtension/submitAction"])
async def test_an_invoke_without_a_value_is_a_bad_request(
    teams: Teams, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    await teams.install(ALICE)
    action = ta.card_action(
        ALICE,
        "confirm",
        {},
        service_url=teams.fake.url,
        conversation_id=ALICE.personal_conversation_id,
        reply_to_id="act-1",
    )
    action["name"] = name
    del action["value"]
    caplog.set_level(logging.INFO)
    status, _ = await teams.post(action)
    assert status == 400
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_above_the_limit_is_refused_unread_and_unlogged(
    teams: Teams, caplog: pytest.LogCaptureFixture, chunked: bool
) -> None:
    activity = said(teams, ALICE, "SECRET-WORDS " * 30_000, "big-1")
    body = json.dumps(activity).encode()
    assert len(body) > 256 * 1024
    caplog.set_level(logging.DEBUG)

    async def chunks():  # no Content-Length: the server must count as it reads
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    headers = {"Content-Type": "application/json"}
    async with teams.http.post(teams.url, data=chunks() if chunked else body, headers=headers) as r:
        assert r.status == 413
    assert not any("SECRET-WORDS" in r.getMessage() for r in caplog.records)
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 1 and "127.0.0.1" in refused[0]
    assert not teams.fake.sent


async def test_a_hung_connector_never_holds_an_inbound_message(
    quick_teams: Teams, caplog: pytest.LogCaptureFixture
) -> None:
    teams = quick_teams
    await teams.install(ALICE)
    teams.fake.hang("reply", 60)
    caplog.set_level(logging.INFO)
    started = time.monotonic()
    posting = asyncio.create_task(teams.post(said(teams, ALICE, "help", "hung-1")))
    await asyncio.sleep(0.3)
    health_started = time.monotonic()
    async with teams.http.get(teams.url.replace("/api/messages", "/healthz")) as r:
        assert r.status == 200
    assert time.monotonic() - health_started < 0.5
    status, _ = await posting
    took = time.monotonic() - started
    assert status in (200, 201) and took < 5  # the timeout is 1 s
    assert any("connector failed (TimeoutError)" in r.getMessage() for r in caplog.records)
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)

"""Teams refusing goalnudge for good (403 codes, a gone chat): posting stops until the person
comes back; throttling and gateway trouble are still retried. Through the real server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import teams_activities as ta
from test_teams import ALICE, FARID, MAYA, Teams, card_of
from test_teams_security import SAM, serving

from bot.core.model import CheckInState
from bot.server import post_digest, tick

NEW_YORK = ZoneInfo("America/New_York")
MONDAY, TUESDAY, WEDNESDAY = (
    datetime(2026, 11, day, 16, 30, tzinfo=NEW_YORK) for day in (16, 17, 18)
)
SALES_EAST = ta.TeamsTeam("19:saleseast0general@thread.tacv2", "Sales East", "group-2")
REFUSALS = [
    (403, "BotNotInConversationRoster"),
    (403, "MessageWritesBlocked"),
    (403, "BotDisabledByAdmin"),
    (404, "ConversationNotFound"),
]


@pytest.fixture
async def teams(tmp_path: Path) -> AsyncIterator[Teams]:
    async with serving(tmp_path) as served:
        yield served


def tried(teams: Teams, user: ta.TeamsUser) -> list[int]:
    """What the connector answered to each message the bot tried to post into user's chat."""
    return [
        s.status
        for s in teams.fake.sent
        if s.op in ("send", "reply") and s.conversation_id == user.personal_conversation_id
    ]


def prompts_to(teams: Teams, user: ta.TeamsUser) -> list[dict[str, object]]:
    return [
        card_of(s) for s in teams.to(user.personal_conversation_id) if s.body.get("attachments")
    ]


async def round_at(teams: Teams, moment: datetime) -> None:
    teams.clock.set(moment)
    await tick(teams.app, teams.channel)


async def refuse_alice(teams: Teams, status: int, code: str) -> str:
    """Alice installs the app, then Teams refuses Monday's prompt to her; returns the reason."""
    await teams.install(ALICE)
    teams.fake.fail("reply", status, code=code)
    await round_at(teams, MONDAY)
    [failed] = await teams.app.deps.outbox.in_state(CheckInState.FAILED)
    assert failed.person == "alice@acme.example" and failed.skip_reason
    return failed.skip_reason


@pytest.mark.parametrize(("status", "code"), REFUSALS)
async def test_a_refusal_stops_posting_and_the_digest_says_why(
    teams: Teams, status: int, code: str
) -> None:
    reason = await refuse_alice(teams, status, code)
    assert reason == f"teams: {code} (HTTP {status})"
    assert tried(teams, ALICE) == [200, status]  # the welcome, then one refused prompt

    await round_at(teams, TUESDAY)
    assert tried(teams, ALICE) == [200, status]  # nothing posted to her, not even tried
    assert not prompts_to(teams, ALICE)
    skipped = [
        r
        for r in await teams.app.deps.outbox.in_state(CheckInState.SKIPPED)
        if r.person == "alice@acme.example"
    ]
    assert [r.skip_reason for r in skipped] == [f"could not be reached: {reason}"]

    status_code, _ = await teams.post(
        ta.conversation_update_members_added(SAM, service_url=teams.fake.url, team=SALES_EAST)
    )
    assert status_code in (200, 201)
    teams.clock.set(datetime(2026, 11, 17, 17, 0, tzinfo=NEW_YORK))
    await post_digest(teams.app.deps, teams.channel, "Sales East")
    [digest] = teams.to(SALES_EAST.id)
    shown = json.dumps(card_of(digest), ensure_ascii=False)
    assert f"Alice Chen (could not be reached: teams: {code} (HTTP {status}))" in shown


async def test_a_notice_to_someone_teams_refused_is_not_posted(teams: Teams) -> None:
    for user in (FARID, MAYA):
        await teams.install(user)
    link = "https://teams.microsoft.com/l/message/19:abc/1700000000"
    teams.fake.fail("reply", 403, code="MessageWritesBlocked")
    for n in (1, 2):  # Farid flags two blockers; both tell his manager, Maya
        flag = ta.submit_action(
            FARID,
            "flagBlocker",
            {"kr": "fraud-api", "note": f"blocker {n}", "confidence": "55", "link": link},
            service_url=teams.fake.url,
            conversation_id=FARID.personal_conversation_id,
            message_text=f"blocker {n}",
            message_link=link,
        )
        status, body = await teams.post(flag)
        assert status == 200 and "Flagged" in body["task"]["value"]
    assert tried(teams, MAYA) == [200, 403]  # the welcome, the first notice; never the second
    failed = await teams.app.deps.outbox.in_state(CheckInState.FAILED)
    assert [(r.person, r.skip_reason) for r in failed] == [
        ("maya@acme.example", "teams: MessageWritesBlocked (HTTP 403)")
    ] * 2


@pytest.mark.parametrize("how", ["message", "install"])
async def test_posting_resumes_when_they_write_to_the_bot_or_install_it_again(
    teams: Teams, how: str
) -> None:
    await refuse_alice(teams, 403, "BotNotInConversationRoster")
    await round_at(teams, TUESDAY)
    assert not prompts_to(teams, ALICE)

    if how == "message":
        back = ta.message(
            ALICE,
            "goals",
            service_url=teams.fake.url,
            conversation_id=ALICE.personal_conversation_id,
            activity_id="back-1",
        )
    else:
        back = ta.installation_update(ALICE, service_url=teams.fake.url)
    status, _ = await teams.post(back)
    assert status in (200, 201)

    await round_at(teams, WEDNESDAY)
    [prompt] = prompts_to(teams, ALICE)
    assert "Salesforce shows you closed" in json.dumps(prompt)
    row = await teams.app.deps.outbox.open_prompt("alice@acme.example")
    assert row is not None and row.state is CheckInState.SENT


async def test_a_message_in_a_team_channel_does_not_lift_the_refusal(teams: Teams) -> None:
    await refuse_alice(teams, 403, "MessageWritesBlocked")
    teams.fake.add_member(SALES_EAST.id, ALICE.id, ALICE.name, ALICE.email, ALICE.aad_object_id)
    status, _ = await teams.post(
        ta.message(
            ALICE,
            "goals",
            service_url=teams.fake.url,
            conversation_id=SALES_EAST.id,
            activity_id="in-channel",
            team=SALES_EAST,
        )
    )
    assert status in (200, 201)
    await round_at(teams, TUESDAY)
    assert not prompts_to(teams, ALICE)


@pytest.mark.parametrize("status", [429, 412])
async def test_throttling_is_retried_and_the_prompt_goes_out_once(
    teams: Teams, status: int
) -> None:
    await teams.install(ALICE)
    teams.fake.fail("reply", status, times=2, retry_after=0)
    await round_at(teams, MONDAY)
    assert tried(teams, ALICE) == [200, status, status, 200]
    assert len(prompts_to(teams, ALICE)) == 1
    await round_at(teams, TUESDAY)
    assert len(prompts_to(teams, ALICE)) == 2  # she is still reachable


@pytest.mark.parametrize("status", [502, 504])
async def test_gateway_errors_are_retried_for_updates(teams: Teams, status: int) -> None:
    await teams.install(ALICE)
    await round_at(teams, MONDAY)
    await round_at(teams, datetime(2026, 11, 16, 21, 0, tzinfo=NEW_YORK))  # her one reminder
    teams.fake.fail("update", status, times=2, retry_after=0)
    await round_at(teams, datetime(2026, 11, 17, 17, 1, tzinfo=NEW_YORK))  # then it expires
    assert [s.status for s in teams.fake.sent if s.op == "update"] == [status, status, 200]
    [expired] = teams.fake.of("update")
    assert "expired without an answer" in json.dumps(expired.body)


@pytest.mark.parametrize("status", [502, 504])
async def test_a_new_message_cut_off_by_the_gateway_is_not_resent_nor_refused(
    teams: Teams, status: int
) -> None:
    await teams.install(ALICE)
    teams.fake.send_then_fail(status)
    await round_at(teams, MONDAY)
    assert tried(teams, ALICE) == [200, 200]  # delivered once; the answer was lost
    assert not await teams.app.deps.outbox.in_state(CheckInState.FAILED)
    await round_at(teams, datetime(2026, 11, 16, 21, 0, tzinfo=NEW_YORK))
    await round_at(teams, datetime(2026, 11, 17, 2, 0, tzinfo=NEW_YORK))
    assert len(prompts_to(teams, ALICE)) == 2  # she is still reachable: reminded once
    row = await teams.app.deps.outbox.open_prompt("alice@acme.example")
    assert row is not None and row.state is CheckInState.REMINDED

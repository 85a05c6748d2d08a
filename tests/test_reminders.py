"""A reminder after expiry, and a reminder the platform will not take now: through the real
server, signed Slack requests and Teams activities as Teams sends them."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import slack_requests as sr
import teams_activities as ta
from slack_harness import SECRET, button_value, nudge_alice, slack_app
from test_teams import ALICE, Teams, alice_confirms, card_of, teams  # noqa: F401 (the fixture)
from test_teams_refusals import MONDAY, NEW_YORK, SALES_EAST, prompts_to, round_at

from bot.core.model import CheckInState
from bot.server import tick

REMINDER_DUE = datetime(2026, 11, 16, 21, 0, tzinfo=NEW_YORK)  # 4 h after Monday's 16:30
EXPIRED = datetime(2026, 11, 17, 17, 1, tzinfo=NEW_YORK)  # 20 h after the reminder


async def test_a_click_on_a_reminder_after_expiry_says_so_and_replaces_it(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as slack:
        await nudge_alice(slack)
        slack.clock.set(REMINDER_DUE)
        await tick(slack.app, slack.channel)
        to_alice = [
            c for c in slack.fake.called("chat.postMessage") if c.params["channel"] == "UALICE"
        ]
        reminder = to_alice[-1]
        assert len(to_alice) == 2 and "Reminder" in reminder.params["blocks"][0]["text"]["text"]
        slack.clock.set(EXPIRED)
        await tick(slack.app, slack.channel)
        expired = await slack.app.deps.outbox.in_state(CheckInState.EXPIRED)
        assert [r.person for r in expired] == ["alice@acme.example"]
        click = sr.block_actions(
            "UALICE",
            "gn:confirm",
            button_value(reminder, "gn:confirm"),
            secret=SECRET,
            channel="DUALICE",
            message_ts="1700000300.000100",
        )
        assert (await slack.post(click)).status == 200
        [shown] = await slack.wait_for("response_url")
        assert shown.params["replace_original"]
        assert "This check-in has expired — nothing changed." in shown.params["text"]
        assert "actions" not in json.dumps(shown.params.get("blocks", []))  # no buttons left
        kr = await slack.app.deps.directory.key_result("arr-alice")
        assert kr is not None and kr.current == 300_000


async def test_a_click_on_an_expired_teams_reminder_says_it_expired(teams: Teams) -> None:  # noqa: F811
    await teams.install(ALICE)
    await round_at(teams, MONDAY)
    await round_at(teams, REMINDER_DUE)
    reminder = prompts_to(teams, ALICE)[-1]
    assert "Reminder" in json.dumps(reminder, ensure_ascii=False)
    await round_at(teams, EXPIRED)
    status, body = await teams.post(alice_confirms(teams, reminder["actions"][0], "act-9"))
    assert status == 200
    assert body["value"]["body"][0]["text"] == "⌛ This check-in has expired — nothing changed."
    assert "actions" not in body["value"]


async def test_a_reminder_teams_refuses_for_now_is_sent_next_round_and_the_round_goes_on(
    teams: Teams,  # noqa: F811
) -> None:
    await teams.install(ALICE)
    await round_at(teams, MONDAY)  # Sales East's digest is due, but no channel takes it yet
    status, _ = await teams.post(
        ta.conversation_update_members_added(ALICE, service_url=teams.fake.url, team=SALES_EAST)
    )
    assert status in (200, 201)
    teams.fake.fail("reply", 429, times=4, retry_after=0)  # more than the channel retries
    await round_at(teams, REMINDER_DUE)
    assert len(prompts_to(teams, ALICE)) == 1  # not reminded yet
    [digest] = teams.to(SALES_EAST.id)  # the round went on to post the digest
    assert "Sales East digest" in json.dumps(card_of(digest), ensure_ascii=False)
    row = await teams.app.deps.outbox.open_prompt("alice@acme.example")
    assert row is not None and row.state is CheckInState.SENT
    await round_at(teams, REMINDER_DUE.replace(minute=5))
    prompts = prompts_to(teams, ALICE)
    assert len(prompts) == 2 and "Reminder" in json.dumps(prompts[-1], ensure_ascii=False)
    row = await teams.app.deps.outbox.open_prompt("alice@acme.example")
    assert row is not None and row.state is CheckInState.REMINDED


async def test_a_prompt_whose_reminder_is_refused_until_its_deadline_still_expires(
    teams: Teams,  # noqa: F811
) -> None:
    await teams.install(ALICE)
    await round_at(teams, MONDAY)
    teams.fake.fail("reply", 429, times=8, retry_after=0)  # two rounds' worth of tries
    await round_at(teams, REMINDER_DUE)
    await round_at(teams, EXPIRED)
    assert len(prompts_to(teams, ALICE)) == 1  # the reminder never went out
    [row] = await teams.app.deps.outbox.in_state(CheckInState.EXPIRED)
    assert row.person == "alice@acme.example"
    [closed] = teams.fake.of("update")
    assert "expired without an answer" in json.dumps(closed.body)

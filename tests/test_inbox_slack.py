"""Slack deliveries that change something are in the inbox before Slack is answered: typed DMs,
slash commands and modal submits, through the real server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
import slack_requests as sr
from slack_harness import SECRET, Slack, button_value, nudge_alice, slack_app

from bot.core.ports import Inbound
from bot.core.prompts import Said

DM = {"type": "message", "channel_type": "im", "user": "UERIN", "channel": "DERIN"}


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[Slack]:
    async with slack_app(tmp_path) as running:
        yield running


async def pending(slack: Slack) -> int:
    assert slack.app.deps.inbox is not None
    return await slack.app.deps.inbox.pending()


async def snoozed_until(slack: Slack, email: str) -> date | None:
    person = await slack.app.deps.directory.person(email)
    assert person is not None
    return person.snoozed_until


async def replies_in(slack: Slack, channel: str, count: int) -> list[str]:
    await slack.wait_for("chat.postMessage", count)
    return [
        str(c.params["text"])
        for c in slack.fake.called("chat.postMessage")
        if c.params["channel"] == channel
    ]


async def test_a_typed_snooze_is_recorded_before_the_ack_and_applied_once(slack: Slack) -> None:
    slack.at("2026-11-16 09:00", "America/New_York")
    typed = sr.event(DM | {"text": "snooze until 2026-12-01", "ts": "1.1"}, secret=SECRET)
    assert (await slack.post(typed)).status == 200
    again = sr.event(
        DM | {"text": "snooze until 2026-12-01", "ts": "1.1"}, secret=SECRET, retry_num=1
    )
    assert (await slack.post(again)).status == 200  # Slack's retry of the same event
    assert await replies_in(slack, "DERIN", 1) == ["😴 Snoozed: no check-ins until Tue 1 Dec."]
    await asyncio.sleep(0.3)
    assert len(slack.fake.called("chat.postMessage")) == 1
    assert await snoozed_until(slack, "erin@acme.example") == date(2026, 12, 1)
    assert await pending(slack) == 0


async def test_a_typed_read_is_answered_as_before(slack: Slack) -> None:
    await slack.post(sr.event(DM | {"text": "help", "ts": "1.2"}, secret=SECRET, event_id="Ev2"))
    [reply] = await replies_in(slack, "DERIN", 1)
    assert "snooze until" in reply


async def test_a_dm_recorded_by_a_process_that_died_is_applied_by_the_next(slack: Slack) -> None:
    """The row a killed process recorded (and acked) is found and applied by the worker."""
    slack.at("2026-11-16 09:00", "America/New_York")
    assert slack.app.deps.inbox is not None
    key = "slack-event:T1:EvDied"
    said = Said(key, "", "snooze until 2026-12-02")
    reply_to = json.dumps({"say": "DERIN"})
    died = Inbound(key, "slack", "UERIN", said, slack.app.deps.clock.now(), reply_to)
    assert await slack.app.deps.inbox.put(died)
    for _ in range(300):  # the worker also looks every second for rows nobody woke it for
        if await snoozed_until(slack, "erin@acme.example") is not None:
            break
        await asyncio.sleep(0.02)
    assert await replies_in(slack, "DERIN", 1) == ["😴 Snoozed: no check-ins until Wed 2 Dec."]
    assert await snoozed_until(slack, "erin@acme.example") == date(2026, 12, 2)


async def test_a_slash_command_that_changes_something_is_recorded_and_answered_once(
    slack: Slack,
) -> None:
    slack.at("2026-11-16 09:00", "America/New_York")
    command = sr.slash_command("UERIN", "/goals", "snooze until 2026-12-03", secret=SECRET)
    first = await slack.post(command)
    assert "Snoozed: no check-ins until Thu 3 Dec" in (await first.json())["text"]
    repeat = await slack.post(command)  # the same trigger delivered again
    assert "nothing changed" in (await repeat.json())["text"]
    assert await snoozed_until(slack, "erin@acme.example") == date(2026, 12, 3)
    assert await pending(slack) == 0


async def test_a_modal_submit_is_recorded_and_its_errors_still_come_inline(slack: Slack) -> None:
    nudge = await nudge_alice(slack)
    meta = json.dumps({"c": json.loads(button_value(nudge, "gn:adjust"))["c"]})

    def submit(value: str) -> tuple[str, dict[str, str]]:
        typed = {"value:arr-alice": {"v": {"type": "plain_text_input", "value": value}}}
        return sr.view_submission("UALICE", "gn:adjust_modal", typed, meta, secret=SECRET)

    refused = await slack.post(submit("lots"))
    assert (await refused.json())["response_action"] == "errors"
    assert await slack.app.deps.ledger.history("arr-alice") == []
    assert (await slack.post(submit("410k"))).status == 200  # the same modal, fixed
    assert [u.value for u in await slack.app.deps.ledger.history("arr-alice")] == [410_000]
    assert (await slack.post(submit("410k"))).status == 200  # delivered again
    assert [u.value for u in await slack.app.deps.ledger.history("arr-alice")] == [410_000]
    assert await pending(slack) == 0


async def test_a_listener_that_fails_after_the_ack_is_logged_with_its_traceback(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    nudge = await nudge_alice(slack)
    slack.fake.fail("views.open", "expired_trigger_id")
    click = sr.block_actions(
        "UALICE", "gn:adjust", button_value(nudge, "gn:adjust"), secret=SECRET, channel="DUALICE"
    )
    assert (await slack.post(click)).status == 200  # acked before the modal is asked for
    for _ in range(300):
        if any("Slack listener failed" in r.getMessage() for r in caplog.records):
            break
        await asyncio.sleep(0.01)
    [failed] = [r for r in caplog.records if "Slack listener failed" in r.getMessage()]
    assert failed.levelname == "ERROR" and failed.exc_info is not None
    assert "SlackApiError" in failed.getMessage()

"""Engineers explain tracker risk; blockers reach their manager at once; silence expires."""

from __future__ import annotations

from conftest import Conversation

from bot.channels.slack.mrkdwn import mrkdwn
from bot.core.answers import answer, snooze
from bot.core.model import CheckInKind, CheckInState, Status
from bot.core.prompts import ActionId, Answer

ERIN = "erin@acme.example"
FARID = "farid@acme.example"
GRACE = "grace@acme.example"


async def test_engineer_flags_a_delayed_epic_and_the_manager_hears_at_once(
    chat: Conversation,
) -> None:
    chat.at("2026-11-19 10:00", "Europe/Berlin")
    await chat.tick()
    nudge = chat.said()
    assert "goalnudge → Erin Walsh (DM, Thu 10:00 CET)" in nudge
    assert (
        "Jira shows epic PAY-12 “Payment Gateway v2” is past its due date (Fri 13 Nov) "
        "with 6 of 15 issues open."
    ) in nudge
    assert "[1] Flag at risk…   [2] It's on track   [3] Snooze" in nudge

    outcome = await chat.reply(
        ERIN, ActionId.FLAG_RISK, "flag", note="Waiting on certs", confidence="40"
    )
    assert (
        mrkdwn(outcome.text)
        == "🚩 Flagged *Ship Payment Gateway v2* at risk — your manager has been told."
    )
    told = chat.said()
    assert "goalnudge → Maya Schulz (DM, Thu 10:00 CET)" in told
    assert "🚩 Erin Walsh flagged “Ship Payment Gateway v2” at risk (confidence 40%)." in told
    assert "Blocker: Waiting on certs" in told
    kr = await chat.deps.directory.key_result("pay-gw")
    assert kr is not None and (kr.status, kr.confidence) == (Status.AT_RISK, 40)
    [blocker] = await chat.deps.ledger.open_blockers()
    assert (blocker.kr, blocker.person, blocker.note) == ("pay-gw", ERIN, "Waiting on certs")


async def test_flagging_needs_a_note_and_a_sane_confidence(chat: Conversation) -> None:
    chat.at("2026-11-19 10:00", "Europe/Berlin")
    await chat.tick()
    empty = await chat.reply(ERIN, ActionId.FLAG_RISK, "flag", note="  ")
    assert not empty.ok and "Add a blocker note" in empty.errors["note"]
    wild = await chat.reply(ERIN, ActionId.FLAG_RISK, "flag", note="x", confidence="140")
    assert wild.errors == {"confidence": "Confidence must be between 0 and 100."}
    words = await chat.reply(ERIN, ActionId.FLAG_RISK, "flag", note="x", confidence="high")
    assert "must be a number from 0 to 100" in words.errors["confidence"]
    kr = await chat.deps.directory.key_result("pay-gw")
    assert kr is not None and kr.status is Status.ON_TRACK
    assert await chat.deps.ledger.open_blockers() == []
    assert "Maya" not in chat.said().split("flag")[-1]


async def test_a_blocker_flagged_from_any_message_carries_its_text_and_link(
    chat: Conversation,
) -> None:
    chat.at("2026-11-18 11:20", "Europe/London")
    link = "https://acme.slack.com/archives/C1/p1"
    outcome = await chat.reply(
        FARID,
        ActionId.FLAG_RISK,
        "Flag as blocker",
        prompt=False,
        kr="fraud-api",
        note="Security has not approved prod data",
        link=link,
    )
    assert outcome.ok
    said = chat.said()
    assert "goalnudge → Maya Schulz" in said and link in said
    [blocker] = await chat.deps.ledger.open_blockers()
    assert (blocker.note, blocker.link) == ("Security has not approved prod data", link)


async def test_on_track_resolves_the_blocker(chat: Conversation) -> None:
    await answer(chat.deps, Answer("f1", FARID, ActionId.FLAG_RISK, kr="fraud-api", note="x"))
    outcome = await answer(chat.deps, Answer("f2", FARID, ActionId.ON_TRACK, kr="fraud-api"))
    assert mrkdwn(outcome.text) == "👍 Noted: *Launch the fraud scoring API* is on track."
    assert await chat.deps.ledger.open_blockers() == []
    kr = await chat.deps.directory.key_result("fraud-api")
    assert kr is not None and kr.status is Status.ON_TRACK


async def test_a_healthy_epic_gets_a_light_weekly_confidence_check(chat: Conversation) -> None:
    chat.at("2026-11-19 10:00", "Europe/London")
    await chat.tick()
    said = chat.said()
    assert (
        "Weekly check: how confident are you in “Launch the fraud scoring API” (you said 75%)?"
        in said
    )
    row = await chat.deps.outbox.open_prompt(FARID)
    assert row is not None and row.kind is CheckInKind.CONFIDENCE_CHECK


async def test_no_answer_gets_one_reminder_then_expires(chat: Conversation) -> None:
    chat.at("2026-11-19 10:00", "Europe/Berlin")
    await chat.tick()
    chat.said()
    chat.at("2026-11-19 13:59", "Europe/Berlin")
    await chat.tick(sync=False)
    assert "Reminder" not in chat.said()
    chat.at("2026-11-19 14:00", "Europe/Berlin")
    await chat.tick(sync=False)
    reminders = chat.said()
    assert reminders.count("⏰ Reminder — still waiting on this one:") == 2  # Erin and Grace
    chat.at("2026-11-19 20:00", "Europe/Berlin")
    await chat.tick(sync=False)
    later = chat.said()  # Farid (London) was asked later, so his one reminder comes now
    assert "goalnudge → Erin Walsh" not in later and "goalnudge → Grace Kim" not in later
    chat.at("2026-11-20 10:00", "Europe/Berlin")
    await chat.tick(sync=False)
    assert "expired without an answer" in chat.said()
    rows = await chat.deps.outbox.in_state(CheckInState.EXPIRED)
    assert sorted(r.person for r in rows) == [ERIN, GRACE]
    assert await chat.deps.outbox.open_prompt(GRACE) is None
    late = await chat.reply(GRACE, ActionId.ON_TRACK, "late", prompt=False, kr="mobile-sdk")
    assert late.ok  # a late answer is still a valid update, outside the expired prompt


async def test_snoozed_people_are_skipped_with_the_reason(chat: Conversation) -> None:
    from datetime import date

    chat.at("2026-11-18 09:00", "Europe/Berlin")
    result = await snooze(chat.deps, GRACE, date(2026, 11, 20), "s1")
    assert str(result.text) == "😴 Snoozed: no check-ins until Fri 20 Nov."
    chat.at("2026-11-19 10:00", "Europe/Berlin")
    await chat.tick()
    said = chat.said()
    assert "Grace Kim: skipped — snoozed until Fri 20 Nov" in said
    assert "goalnudge → Grace Kim" not in said
    past = await snooze(chat.deps, GRACE, date(2026, 1, 1), "s2")
    assert not past.ok and "in the past" in str(past.text)


async def test_at_most_one_open_prompt_and_one_per_week(chat: Conversation) -> None:
    chat.at("2026-11-19 10:00", "Europe/Berlin")
    await chat.tick()
    await chat.reply(ERIN, ActionId.FLAG_RISK, "flag", note="certs")
    chat.said()
    chat.at("2026-11-19 11:00", "Europe/Berlin")
    await chat.tick()
    said = chat.said()
    assert "goalnudge → Erin Walsh" not in said and "goalnudge → Grace Kim" not in said


async def test_with_reminders_off_an_unanswered_prompt_just_expires(chat: Conversation) -> None:
    from dataclasses import replace
    from datetime import timedelta

    from bot.app import timing
    from bot.config import Settings

    chosen = timing(Settings(goalnudge_reminders="none", goalnudge_expire_after_minutes=360))
    assert chosen.reminder_after is None and chosen.expire_after == timedelta(hours=6)
    chat.deps = replace(chat.deps, timing=chosen)
    chat.at("2026-11-19 10:00", "Europe/Berlin")
    await chat.tick()
    chat.said()
    chat.at("2026-11-19 15:59", "Europe/Berlin")
    await chat.tick(sync=False)
    assert "Reminder" not in chat.said()
    chat.at("2026-11-19 16:00", "Europe/Berlin")
    await chat.tick(sync=False)
    said = chat.said()
    assert "Reminder" not in said and "expired without an answer" in said

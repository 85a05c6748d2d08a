"""Sales reps confirm what the CRM shows, in one click; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from conftest import Conversation

from bot.channels.slack.mrkdwn import mrkdwn
from bot.core.answers import answer
from bot.core.model import CheckInState, UpdateSource
from bot.core.prompts import ActionId, Answer

ALICE = "alice@acme.example"
BOB = "bob@acme.example"


async def test_rep_confirms_crm_numbers_in_one_click(chat: Conversation) -> None:
    chat.at("2026-11-16 16:30", "America/New_York")
    await chat.tick()
    nudge = chat.said()
    assert "goalnudge → Alice Chen (DM, Mon 16:30 EST)" in nudge
    assert "Salesforce shows you closed 2 deals since your last update ($84,000)." in nudge
    assert (
        "Update “Close $600k in New ARR (Alice)” → $384,000 (64% of quota $600,000, 53% of "
        "target $720,000)?" in nudge
    )
    assert "Complete 45 demos" not in nudge  # her demos held are as she last said
    assert "Northwind Traders — $48,000, closed 2026-11-16" in nudge
    assert "[1] Yes, update   [2] Adjust…   [3] Not now" in nudge
    assert "goalnudge → Bob Okafor" not in nudge  # 15:30 in Chicago: not his time yet

    outcome = await chat.reply(ALICE, ActionId.CONFIRM, "[1] Yes, update")
    assert outcome.ok
    assert "updates message console:1" in chat.said()
    kr = await chat.deps.directory.key_result("arr-alice")
    assert kr is not None and kr.current == 384_000
    assert (
        mrkdwn(outcome.text)
        == "✅ Confirmed *Close $600k in New ARR (Alice)*: $384,000 — 64% of quota $600,000, "
        "53% of target $720,000."
    )
    history = await chat.deps.ledger.history("arr-alice")
    assert [(u.source, u.previous, u.value, u.actor) for u in history] == [
        (UpdateSource.CRM_CONFIRMED, 300_000, 384_000, ALICE)
    ]
    assert await chat.deps.ledger.history("demos-alice") == []


async def test_no_crm_change_means_no_nudge(chat: Conversation) -> None:
    chat.at("2026-11-16 16:30", "America/New_York")
    await chat.tick()
    await chat.reply(ALICE, ActionId.CONFIRM, "[1] Yes, update")
    chat.said()
    chat.at("2026-11-17 16:30", "America/New_York")
    await chat.tick()
    said = chat.said()
    # two demos held today, her ARR as it was: asked about the demos only
    assert "Salesforce shows 28 demos this quarter: 28 of 45." in said
    assert "Close $600k" not in said
    await chat.reply(ALICE, ActionId.CONFIRM, "[1] Yes, update")
    chat.said()
    chat.at("2026-11-18 16:30", "America/New_York")
    await chat.tick()
    said = chat.said()
    assert "Alice Chen: nothing new in the source — no nudge" in said
    assert "goalnudge → Alice Chen" not in said


async def test_rep_adjusts_with_a_note_and_is_not_asked_again_for_the_same_reading(
    chat: Conversation,
) -> None:
    chat.at("2026-11-16 16:30", "America/Chicago")
    await chat.tick()
    outcome = await chat.reply(
        BOB,
        ActionId.ADJUST,
        "250000",
        values={"value:arr-bob": "250,000"},
        note="Globex signed at $40k",
    )
    assert mrkdwn(outcome.text) == (
        "✅ Updated *Close $500k in New ARR (Bob)*: $250,000 — 50% of quota $500,000, "
        "42% of target $600,000. "
        "Note: Globex signed at $40k"
    )
    [update] = await chat.deps.ledger.history("arr-bob")
    assert (update.source, update.value, update.note) == (
        UpdateSource.MANUAL,
        250_000,
        "Globex signed at $40k",
    )
    chat.said()
    chat.at("2026-11-17 16:30", "America/Chicago")
    await chat.tick()  # the CRM still says $262,000, which Bob already corrected
    assert "Bob Okafor: nothing new in the source — no nudge" in chat.said()


async def test_bad_numbers_get_an_inline_error_and_change_nothing(chat: Conversation) -> None:
    chat.at("2026-11-16 16:30", "America/Chicago")
    await chat.tick()
    for raw, message in [
        ("lots", "“lots” is not a number — try something like 412000."),
        ("-5", "The value can't be negative."),
        (
            "99999999",
            "$99,999,999 is out of range for “Close $500k in New ARR (Bob)” (at most $6,000,000).",
        ),
    ]:
        outcome = await chat.reply(BOB, ActionId.ADJUST, raw, values={"value:arr-bob": raw})
        assert not outcome.ok
        assert outcome.errors == {"value:arr-bob": message}
    kr = await chat.deps.directory.key_result("arr-bob")
    assert kr is not None and kr.current == 210_000
    assert await chat.deps.ledger.history("arr-bob") == []
    row = await chat.deps.outbox.open_prompt(BOB)
    assert row is not None and row.state is CheckInState.SENT  # still answerable


async def test_only_the_owner_or_their_manager_may_update(chat: Conversation) -> None:
    deps = chat.deps
    refused = await answer(
        deps, Answer("a1", BOB, ActionId.ADJUST, kr="arr-alice", values={"value": "1"})
    )
    assert not refused.ok
    assert mrkdwn(refused.text) == (
        "*Close $600k in New ARR (Alice)* belongs to Alice Chen: only they "
        "or their manager can update it."
    )
    stranger = await answer(
        deps,
        Answer(
            "a2", "mallory@evil.example", ActionId.ADJUST, kr="arr-alice", values={"value": "1"}
        ),
    )
    assert not stranger.ok and "I don't know mallory@evil.example" in str(stranger.text)
    kr = await deps.directory.key_result("arr-alice")
    assert kr is not None and kr.current == 300_000
    managed = await answer(
        deps,
        Answer(
            "a3", "sam@acme.example", ActionId.ADJUST, kr="arr-alice", values={"value": "310000"}
        ),
    )
    assert managed.ok
    kr = await deps.directory.key_result("arr-alice")
    assert kr is not None and kr.current == 310_000


async def test_a_repeated_or_double_clicked_answer_applies_once(chat: Conversation) -> None:
    chat.at("2026-11-16 16:30", "America/New_York")
    await chat.tick()
    row = await chat.deps.outbox.open_prompt(ALICE)
    assert row is not None
    same = Answer("slack-action-1", ALICE, ActionId.CONFIRM, checkin_id=row.id)
    results = await asyncio.gather(*(answer(chat.deps, same) for _ in range(5)))
    assert sum(not r.duplicate for r in results) == 1
    second_click = await answer(
        chat.deps, Answer("slack-action-2", ALICE, ActionId.CONFIRM, checkin_id=row.id)
    )
    assert second_click.duplicate and "already answered" in str(second_click.text)
    assert len(await chat.deps.ledger.history("arr-alice")) == 1


async def test_a_rep_cannot_answer_someone_elses_check_in(chat: Conversation) -> None:
    chat.at("2026-11-16 16:30", "America/New_York")
    await chat.tick()
    row = await chat.deps.outbox.open_prompt(ALICE)
    assert row is not None
    outcome = await answer(chat.deps, Answer("x", BOB, ActionId.CONFIRM, checkin_id=row.id))
    assert not outcome.ok and str(outcome.text) == "That check-in is not yours to answer."
    assert await chat.deps.ledger.history("arr-alice") == []


async def test_not_now_closes_the_prompt_until_the_next_check_in(chat: Conversation) -> None:
    chat.at("2026-11-16 16:30", "America/New_York")
    await chat.tick()
    outcome = await chat.reply(ALICE, ActionId.NOT_NOW, "[3] Not now")
    assert str(outcome.text) == "👍 No problem — I'll ask again at your next check-in (Tue 17 Nov)."
    assert await chat.deps.outbox.open_prompt(ALICE) is None
    chat.said()
    chat.at("2026-11-17 16:30", "America/New_York")
    await chat.tick()
    assert "Salesforce shows you closed 2 deals" in chat.said()

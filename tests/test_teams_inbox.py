"""Teams answers go through the inbox: recorded under the activity's id before they are applied,
applied once, and applied by the worker when the process died after recording. Real server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import teams_activities as ta
from botbuilder.schema import Activity
from test_operations import wait_for
from test_teams import ALICE, Teams, card_of, nudge_alice
from test_teams_security import serving

from bot.channels.teams.identity import event_key
from bot.core.inbox import Worker
from bot.core.ports import Inbound
from bot.core.prompts import ActionId, Answer, Said

ALICE_EMAIL = "alice@acme.example"


@pytest.fixture
async def teams(tmp_path: Path) -> AsyncIterator[Teams]:
    async with serving(tmp_path) as served:
        yield served


def worker(teams: Teams) -> Worker:
    assert teams.worker is not None
    return teams.worker


async def confirm_submit(teams: Teams, reply_to_id: str) -> dict[str, Any]:
    """Alice's press on `Yes, update` of the nudge card (Action.Submit: a message with a value)."""
    card = await nudge_alice(teams)
    return ta.card_submit(
        ALICE,
        card["actions"][0]["fallback"]["data"],
        service_url=teams.fake.url,
        conversation_id=ALICE.personal_conversation_id,
        reply_to_id=reply_to_id,
    )


def typed(teams: Teams, text: str, activity_id: str) -> dict[str, Any]:
    """Alice's message to the bot in their chat."""
    chat, url = ALICE.personal_conversation_id, teams.fake.url
    return ta.message(ALICE, text, service_url=url, conversation_id=chat, activity_id=activity_id)


def recorded(teams: Teams, activity: dict[str, Any], said: str | None = None) -> Inbound:
    """The inbox row of an activity, as Teams' edge records it for Alice."""
    key = event_key(Activity().deserialize(activity))
    answer = Said(key, "", said) if said else Answer(key, "", ActionId.CONFIRM)
    where = None if said else f"{ALICE.personal_conversation_id}|{activity['replyToId']}"
    return Inbound(key, "teams", ALICE.aad_object_id, answer, teams.clock.now(), where)


async def history(teams: Teams) -> list[float]:
    return [u.value for u in await teams.app.deps.ledger.history("arr-alice")]


async def test_a_card_submit_is_recorded_applied_once_and_left_to_no_one(teams: Teams) -> None:
    submit = await confirm_submit(teams, "act-7")
    assert (await teams.post(submit))[0] in (200, 201)
    [update] = teams.fake.of("update")
    assert update.activity_id == "act-7" and "Confirmed" in card_of(update)["body"][0]["text"]
    assert not await teams.app.store.inbox.put(recorded(teams, submit))  # its row is there
    assert (await teams.post(submit))[0] in (200, 201)  # Teams delivers the same activity again
    assert len(teams.fake.of("update")) == 1 and await history(teams) == [384_000]
    assert await worker(teams).once() == 0  # shown in the reply: nothing left for the worker
    assert await teams.app.store.inbox.pending() == 0
    assert len(teams.fake.of("update")) == 1


async def test_an_answer_recorded_before_a_crash_is_applied_by_the_worker_in_place(
    teams: Teams,
) -> None:
    submit = await confirm_submit(teams, "act-9")
    prompt = await teams.app.deps.outbox.open_prompt(ALICE_EMAIL)
    assert prompt is not None
    row = recorded(teams, submit)
    # The process recorded Alice's press, then died before applying it.
    assert await teams.app.store.inbox.put(
        Inbound(
            row.key,
            row.platform,
            row.user,
            Answer(row.key, "", ActionId.CONFIRM, checkin_id=prompt.id),
            row.received_at,
            row.reply_to,
        )
    )
    worker(teams).wake()
    [update] = await wait_for(lambda: teams.fake.of("update"), "the card updated by the worker")
    assert (update.conversation_id, update.activity_id) == (ALICE.personal_conversation_id, "act-9")
    assert "Confirmed" in card_of(update)["body"][0]["text"]
    assert await history(teams) == [384_000]
    assert await teams.app.store.inbox.pending() == 0
    assert (await teams.post(submit))[0] in (200, 201)  # Teams tries it again after the restart
    assert len(teams.fake.of("update")) == 1 and await history(teams) == [384_000]


async def test_a_typed_snooze_is_recorded_and_applied_once(teams: Teams) -> None:
    await teams.install(ALICE)
    message = typed(teams, "snooze until 2026-11-20", "m-snooze")
    await teams.post(message)
    await teams.post(message)  # a replayed activity
    replies = [s.body.get("text", "") for s in teams.to(ALICE.personal_conversation_id)]
    assert [r for r in replies if "Snoozed" in r] == ["😴 Snoozed: no check-ins until Fri 20 Nov."]
    assert not await teams.app.store.inbox.put(recorded(teams, message, message["text"]))
    alice = await teams.app.deps.directory.person(ALICE_EMAIL)
    assert alice is not None and alice.snoozed_until == date(2026, 11, 20)


async def test_a_typed_snooze_recorded_before_a_crash_is_told_in_the_chat(teams: Teams) -> None:
    await teams.install(ALICE)
    message = typed(teams, "snooze until 2026-11-27", "m-lost")
    assert await teams.app.store.inbox.put(recorded(teams, message, message["text"]))
    worker(teams).wake()
    told = await wait_for(
        lambda: [s for s in teams.to(ALICE.personal_conversation_id) if "Snoozed" in str(s.body)],
        "the snooze told in Alice's chat",
    )
    assert len(told) == 1 and "Fri 27 Nov" in str(told[0].body)
    alice = await teams.app.deps.directory.person(ALICE_EMAIL)
    assert alice is not None and alice.snoozed_until == date(2026, 11, 27)

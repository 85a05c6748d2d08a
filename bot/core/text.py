"""Formatting shared by every channel: values with units, percentages, text progress bars;
and what people type, read: numbers within range, text without control characters."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

CURRENCY_PREFIXES = ("$", "€", "£", "¥")
# The largest magnitude of any amount or count goalnudge holds (org file and typed numbers):
# far beyond any real target, and small enough that sums and percentages stay exact enough.
MAX_MAGNITUDE = 1e15
# C0 controls but tab and newline, DEL, C1 controls, and lone surrogates (invalid in UTF-8).
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
SHOWN_INPUT = 40  # characters of a bad input echoed back in an error
# The longest note goalnudge keeps (a blocker, an update's note): a few paragraphs for a manager,
# and well within a Slack message, a Teams card and a Jira comment.
MAX_NOTE = 2000


def number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4f}".rstrip("0").rstrip(".")  # 99.995% uptime is not 100%


def amount(value: float, unit: str) -> str:
    """`412000, "$"` → `$412,000`; `12, "deals"` → `12 deals`; `40, "%"` → `40%`."""
    if unit in CURRENCY_PREFIXES:
        sign = "-" if value < 0 else ""
        money = number(abs(value)) if float(value).is_integer() else f"{abs(value):,.2f}"
        return f"{sign}{unit}{money}"
    if unit == "%":
        return f"{number(value)}%"
    return f"{number(value)} {unit}".strip()


def half_up(value: float) -> int:
    """Round halves away from zero, as people do (Python's round() goes to even)."""
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def percent(share: float) -> str:
    return f"{half_up(share * 100)}%"


def bar(share: float, width: int = 10) -> str:
    """A text progress bar that reads the same on a phone and in a terminal."""
    filled = half_up(max(0.0, min(1.0, share)) * width)
    return "█" * filled + "░" * (width - filled)


def day(value: date, today: date | None = None) -> str:
    """`Fri 20 Nov`; with `today`, the year too when it is not today's (`Wed 1 Jan 2020`)."""
    shown = f"{value:%a %d %b}".replace(" 0", " ")
    return shown if today is None or value.year == today.year else f"{shown} {value.year}"


def in_range(value: float) -> float:
    """`value` if goalnudge can hold it: finite, at most MAX_MAGNITUDE either side of zero;
    ValueError (saying why, to follow the value in a sentence) otherwise."""
    if not math.isfinite(value):
        raise ValueError("is not a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise ValueError(f"is out of range (at most {number(MAX_MAGNITUDE)} either side of 0)")
    return value


SCALES = {"k": 1e3, "m": 1e6, "b": 1e9, "bn": 1e9}


@dataclass(frozen=True)
class Typed:
    """A number as someone typed it, with what they wrote around it."""

    value: float
    currency: str | None = None  # the currency sign typed, if any
    percent: bool = False  # typed with a trailing %
    scientific: bool = False  # typed with an exponent (1e3)


def parse_typed(raw: str) -> Typed:
    """Read what people type: `412,000`, `$412000`, `€400k`, `1.5m`, `2.3k`, ` 12 `, `40%`,
    `1e3`; raise ValueError (saying why, to follow the text in a sentence) otherwise — `nan`,
    `inf` and anything beyond MAX_MAGNITUDE included."""
    cleaned = raw.strip().replace(",", "").replace("_", "").replace(" ", "")
    currency = next((c for c in CURRENCY_PREFIXES if cleaned.startswith(c)), None)
    cleaned = cleaned.removeprefix(currency or "")
    percent = cleaned.endswith("%")
    cleaned = cleaned.removesuffix("%")
    scale = 1.0
    for suffix in sorted(SCALES, key=len, reverse=True):
        if cleaned.lower().endswith(suffix) and not percent:
            cleaned, scale = cleaned[: -len(suffix)], SCALES[suffix]
            break
    if cleaned.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise ValueError("is not a finite number")
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", cleaned):
        raise ValueError("is not a number")
    scientific = "e" in cleaned.lower()
    value = float(Decimal(cleaned) * Decimal(int(scale)))  # 1.1k is 1100, not 1100.0000000000002
    return Typed(in_range(value), currency, percent, scientific)


def parse_number(raw: str) -> float:
    """The value of what people type (see parse_typed)."""
    return parse_typed(raw).value


def shown(raw: str) -> str:
    """What someone typed, short enough to quote back in one line."""
    raw = clean(raw).replace("\n", " ")
    return raw if len(raw) <= SHOWN_INPUT else raw[: SHOWN_INPUT - 1] + "…"


def clean(text: str) -> str:
    """`text` without NUL and other control characters (newline and tab kept) or lone
    surrogates: no database or chat platform stores them, and no person means them."""
    return CONTROLS.sub("", text)

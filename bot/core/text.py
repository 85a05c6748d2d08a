"""Formatting shared by every channel: values with units, percentages, text progress bars;
and what people type, read: numbers within range, text without control characters."""

from __future__ import annotations

import math
import re
from datetime import date

CURRENCY_PREFIXES = ("$", "€", "£", "¥")
# The largest magnitude of any amount or count goalnudge holds (org file and typed numbers):
# far beyond any real target, and small enough that sums and percentages stay exact enough.
MAX_MAGNITUDE = 1e15
# C0 controls but tab and newline, DEL, C1 controls, and lone surrogates (invalid in UTF-8).
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
SHOWN_INPUT = 40  # characters of a bad input echoed back in an error


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


def day(value: date) -> str:
    return f"{value:%a %d %b}".replace(" 0", " ")


def in_range(value: float) -> float:
    """`value` if goalnudge can hold it: finite, at most MAX_MAGNITUDE either side of zero;
    ValueError (saying why, to follow the value in a sentence) otherwise."""
    if not math.isfinite(value):
        raise ValueError("is not a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise ValueError(f"is out of range (at most {number(MAX_MAGNITUDE)} either side of 0)")
    return value


def parse_number(raw: str) -> float:
    """Accept what people type: `412,000`, `$412000`, ` 12 `, `40%`; raise ValueError otherwise
    (`1e309`, `nan`, `inf` and anything beyond MAX_MAGNITUDE included)."""
    cleaned = raw.strip().replace(",", "").replace("_", "")
    for prefix in CURRENCY_PREFIXES:
        cleaned = cleaned.removeprefix(prefix)
    cleaned = cleaned.removesuffix("%").strip()
    scale = 1.0
    if cleaned.lower().endswith("k"):
        cleaned, scale = cleaned[:-1], 1_000.0
    try:
        result = float(cleaned) * scale
    except ValueError:
        raise ValueError("is not a number") from None
    return in_range(result)


def shown(raw: str) -> str:
    """What someone typed, short enough to quote back in one line."""
    raw = clean(raw).replace("\n", " ")
    return raw if len(raw) <= SHOWN_INPUT else raw[: SHOWN_INPUT - 1] + "…"


def clean(text: str) -> str:
    """`text` without NUL and other control characters (newline and tab kept) or lone
    surrogates: no database or chat platform stores them, and no person means them."""
    return CONTROLS.sub("", text)

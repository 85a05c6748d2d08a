"""Formatting shared by every channel: values with units, percentages, text progress bars."""

from __future__ import annotations

import math
from datetime import date

CURRENCY_PREFIXES = ("$", "€", "£", "¥")


def number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


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


def parse_number(raw: str) -> float:
    """Accept what people type: `412,000`, `$412000`, ` 12 `, `40%`; raise ValueError otherwise."""
    cleaned = raw.strip().replace(",", "").replace("_", "")
    for prefix in CURRENCY_PREFIXES:
        cleaned = cleaned.removeprefix(prefix)
    cleaned = cleaned.removesuffix("%").strip()
    scale = 1.0
    if cleaned.lower().endswith("k"):
        cleaned, scale = cleaned[:-1], 1_000.0
    if not cleaned:
        raise ValueError("empty")
    result = float(cleaned) * scale
    if not math.isfinite(result):
        raise ValueError("not a finite number")
    return result

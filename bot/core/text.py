"""Formatting shared by every channel: values with units, percentages, text progress bars."""

from __future__ import annotations

from datetime import date

CURRENCY_PREFIXES = ("$", "€", "£", "¥")


def number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def amount(value: float, unit: str) -> str:
    """`412000, "$"` → `$412,000`; `12, "deals"` → `12 deals`; `40, "%"` → `40%`."""
    if unit in CURRENCY_PREFIXES:
        return f"{unit}{number(value)}"
    if unit == "%":
        return f"{number(value)}%"
    return f"{number(value)} {unit}".strip()


def percent(share: float) -> str:
    return f"{round(share * 100)}%"


def bar(share: float, width: int = 10) -> str:
    """A text progress bar that reads the same on a phone and in a terminal."""
    filled = round(max(0.0, min(1.0, share)) * width)
    return "█" * filled + "░" * (width - filled)


def day(value: date) -> str:
    return f"{value:%a %d %b}".replace(" 0", " ")


def parse_number(raw: str) -> float:
    """Accept what people type: `412,000`, `$412000`, ` 12 `, `40%`; raise ValueError otherwise."""
    cleaned = raw.strip().replace(",", "").replace("_", "")
    for prefix in CURRENCY_PREFIXES:
        cleaned = cleaned.removeprefix(prefix)
    cleaned = cleaned.removesuffix("%").strip()
    if cleaned.lower().endswith("k"):
        return float(cleaned[:-1]) * 1_000
    if not cleaned:
        raise ValueError("empty")
    result = float(cleaned)
    if result != result or result in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return result

"""When a typed value looks like a slip: the one rule that asks for a second look first."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.model import KeyResult, KrKind
from bot.core.text import CURRENCY_PREFIXES, Typed, amount, half_up, number, percent


@dataclass(frozen=True)
class Thresholds:
    drop_share: float = 0.5  # a fall of more than this share of the last value
    jump_ratio: float = 10.0  # a rise to more than this many times the last value


@dataclass(frozen=True)
class Doubt:
    """Why a value is worth a second look, to follow "Did you mean it?"."""

    code: str
    text: str


def doubts(kr: KeyResult, typed: Typed, limits: Thresholds | None = None) -> tuple[Doubt, ...]:
    """What makes `typed` look like a slip for `kr`, most likely slip first; () when it looks
    like what was meant."""
    limits = limits or Thresholds()
    found: list[Doubt] = []
    new, old, unit = typed.value, kr.current, kr.unit
    if typed.percent and unit != "%":
        what = (
            "an amount in " + unit if unit in CURRENCY_PREFIXES else f"counted in {unit or 'units'}"
        )
        found.append(Doubt("percent", f"you typed a percentage, but it is {what}"))
    if typed.currency and typed.currency != unit:
        what = f"in {unit}" if unit in CURRENCY_PREFIXES else f"counted in {unit or 'units'}"
        found.append(Doubt("currency", f"you typed {typed.currency}, but it is {what}"))
    if typed.scientific:
        found.append(Doubt("scientific", f"you typed a power of ten: {number(new)}"))
    if old and not new:
        found.append(Doubt("zero", f"it goes from {amount(old, unit)} to {amount(0, unit)}"))
    elif old > 0 and new > limits.jump_ratio * old:
        times = number(half_up(new / old * 10) / 10)
        found.append(Doubt("jump", f"it is {times}× the last value ({amount(old, unit)})"))
    elif kr.kind is KrKind.INCREASE and old > 0 and (old - new) / old > limits.drop_share:
        share = percent((old - new) / old)
        found.append(Doubt("drop", f"it is {share} below the last value ({amount(old, unit)})"))
    return tuple(found)


def slip(kr: KeyResult, typed: Typed, found: tuple[Doubt, ...]) -> str:
    """`$400,000 → $1,000: you typed a power of ten: 1,000` — the old and new value and what
    looks wrong."""
    change = f"{amount(kr.current, kr.unit)} → {amount(typed.value, kr.unit)}"
    return f"{change}: " + "; ".join(d.text for d in found)

"""Which key result a person means by the words they typed, and `update my arr to 400k` read."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.model import KeyResult
from bot.core.rich import Rich, code, rich, said

FILLER = frozenset({"my", "the", "our", "kr", "key", "result", "goal"})


@dataclass(frozen=True)
class Typed:
    """`update …` as typed: the words naming a key result, the value and the note if given."""

    names: tuple[str, ...]
    value: str | None = None
    note: str | None = None


def update_words(args: list[str]) -> Typed:
    """`arr-alice 412000 signed` and `my arr to 400k signed` alike."""
    lowered = [a.lower() for a in args]
    if "to" in lowered[1:]:
        at = lowered.index("to", 1)
        names, value, note = args[:at], args[at + 1 : at + 2], args[at + 2 :]
    else:
        names, value, note = args[:1], args[1:2], args[2:]
    return Typed(meaningful(names), value[0] if value else None, " ".join(note) or None)


def meaningful(names: list[str]) -> tuple[str, ...]:
    """The words that name something (`my arr` → `arr`); all of them if all are filler."""
    kept = tuple(n for n in names if n.lower() not in FILLER)
    return kept or tuple(names)


def matches(kr: KeyResult, names: tuple[str, ...]) -> bool:
    """Every word is the key result's id, a part of it, or a word of its title."""
    words = {kr.key.lower(), *re.split(r"[-_.]", kr.key.lower())}
    words |= set(re.findall(r"\w+", kr.title.lower()))
    return all(name.lower() in words for name in names)


def choose(names: tuple[str, ...], mine: list[KeyResult]) -> KeyResult | Rich:
    """The one key result of `mine` that `names` mean, or what to say (none or several)."""
    found = [kr for kr in mine if matches(kr, names)]
    if len(found) == 1:
        return found[0]
    typed = " ".join(names)
    if not mine:
        return rich(f"There is no key result {typed!r}, and you have none yet.")
    if found:
        return rich("Several of your key results match “", said(typed), "”: ") + listed(found)
    return rich(f"There is no key result {typed!r}. Yours: ") + listed(mine)


def listed(krs: list[KeyResult]) -> Rich:
    return rich(", ").join(rich(code(kr.key), f" ({kr.title})") for kr in krs) + "."

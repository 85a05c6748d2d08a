"""Card payloads read back: only what goalnudge's own cards can send is accepted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.channels.teams import cards
from bot.core.prompts import ActionId

VERBS = {a.value for a in ActionId} | {cards.DETAILS, cards.TEAM_DIGEST}
MAX_ID = 2**31 - 1  # check-in ids are 32-bit on PostgreSQL
TEXT_FIELDS = ("kr", "note", "confidence", "link", "write_back", "team")
NOT_OURS = "That button is not one goalnudge made — nothing changed."


class BadPayload(ValueError):
    """A card submit that goalnudge did not render (tampered, stale or malformed)."""


@dataclass(frozen=True)
class CardData:
    verb: str
    checkin: int | None = None
    text: dict[str, str] = field(default_factory=dict)  # kr, note, confidence, link, …
    values: dict[str, str] = field(default_factory=dict)  # the card's inputs


def checkin_id(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadPayload("a check-in id that is not a number")
    digits = str(value)
    if not digits.isdecimal():
        raise BadPayload("a check-in id that is not a number")
    if not (len(digits) <= 10 and 0 < int(digits) <= MAX_ID):
        raise BadPayload("a check-in id out of range")
    return int(digits)


def scalar(name: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise BadPayload(f"a {type(value).__name__} in {name!r}")


def parse(data: Any) -> CardData:
    """`data`: the card's action data (the verb included), as Teams delivers it."""
    if not isinstance(data, dict):
        raise BadPayload("data that is not an object")
    rest = dict(data)
    verb = rest.pop("verb", None)
    if not isinstance(verb, str) or verb not in VERBS:
        raise BadPayload("an unknown verb")
    checkin = checkin_id(rest.pop("c", None))
    text = {k: scalar(k, rest.pop(k)) for k in TEXT_FIELDS if rest.get(k) is not None}
    values = {str(k): scalar(str(k), v) for k, v in rest.items() if v is not None}
    return CardData(verb, checkin, text, values)

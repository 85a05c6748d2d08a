"""Adaptive Cards within Teams' limits: a card too big becomes a first card and follow-ups."""

from __future__ import annotations

import json
from typing import Any

from bot.channels.pieces import Markup, pieces

Card = dict[str, Any]

# Microsoft gives an Adaptive Card at most 28 KB; a bot message is refused past about 100 KB
# (counted in UTF-16, 413 MessageSizeTooBig; 80 KB advised). Each card stays under the first,
# which keeps each message well under the second.
CARD_BYTES = 28 * 1024
TEXT_CHARS = 6000  # one TextBlock's text at most, so any one element fits a card
MARKDOWN = Markup(("**", "_", "`"), (("[", "]"),), escape="\\")
TEXT_MESSAGE = 20_000  # characters of a plain text message (UTF-16: 40 KB, half the limit)


def size(value: Any) -> int:
    """Bytes of the JSON a card or element is sent as."""
    return len(json.dumps(value, ensure_ascii=False).encode())


def cards(card: Card, *, most: int = CARD_BYTES) -> list[Card]:
    """The card as it is when it fits; else a first card with what comes first (in the order
    given), its actions and a line saying how many more follow, then the rest as further
    cards, each within `most` bytes."""
    if size(card) <= most:
        return [card]
    body = [part for element in card["body"] for part in _split(element)]
    shell = {k: v for k, v in card.items() if k not in ("body", "actions")}
    actions = card.get("actions") or []
    room = most - size(shell | {"body": [], "actions": actions}) - 200  # 200: the note
    first = _take(body, room)
    rest = body[len(first) :]
    followers: list[Card] = []
    while rest:
        page = _take(rest, most - size(shell | {"body": []})) or rest[:1]
        followers.append(shell | {"body": page})
        rest = rest[len(page) :]
    more = (
        f"➕ {len(body) - len(first)} more in the next "
        f"{'message' if len(followers) == 1 else f'{len(followers)} messages'}."
    )
    note = {"type": "TextBlock", "text": more, "wrap": True, "isSubtle": True}
    head = shell | {"body": [*first, note]} | ({"actions": actions} if actions else {})
    return [head, *followers]


def texts(text: str) -> list[str]:
    """A plain message's markdown in pieces each message takes."""
    return pieces(text, TEXT_MESSAGE, MARKDOWN)


def _split(element: Card) -> list[Card]:
    """A TextBlock with a long text as several; any other element as it is."""
    if element.get("type") != "TextBlock" or len(str(element.get("text", ""))) <= TEXT_CHARS:
        return [element]
    return [element | {"text": t} for t in pieces(str(element["text"]), TEXT_CHARS, MARKDOWN)]


def _take(body: list[Card], room: int) -> list[Card]:
    """The longest run of elements from the start within `room` bytes."""
    taken: list[Card] = []
    used = 0
    for element in body:
        used += size(element) + 1
        if used > room:
            break
        taken.append(element)
    return taken

"""Block Kit within Slack's limits: long texts in several sections, long lists in a thread."""

from __future__ import annotations

from typing import Any

from bot.channels.pieces import Markup, pieces

Block = dict[str, Any]

# Slack's documented limits (docs.slack.dev, Block Kit reference).
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
HEADER_TEXT = 150
RESPONSES = 5  # posts a response_url takes (within 30 minutes)
# Slack also refuses a message whose blocks hold more than about 13,000 characters in all
# (msg_blocks_too_long, undocumented, seen from 13,172): each message stays well below.
MESSAGE_CHARS = 12_000
MRKDWN = Markup(("*", "_", "~", "`"), (("<", ">"),), escape="\u200b")
FOOTER = ("actions", "context")


def fitted(blocks: list[Block]) -> list[Block]:
    """Every block within its own limits: a long section or context becomes several (cut at
    line ends, fences closed and reopened), a long header is shortened at a word."""
    made: list[Block] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            made.append(_header(block))
        elif kind == "section" and "text" in block and not block.get("fields"):
            texts = pieces(block["text"]["text"], SECTION_TEXT, MRKDWN)
            made.append({**block, "text": {**block["text"], "text": texts[0]}})
            made += [{"type": "section", "text": {**block["text"], "text": t}} for t in texts[1:]]
        elif kind == "context" and len(block.get("elements", [])) == 1:
            element = block["elements"][0]
            texts = pieces(str(element.get("text", "")), SECTION_TEXT, MRKDWN)
            made += [{**block, "elements": [{**element, "text": t}]} for t in texts[:1]]
            made += [{"type": "context", "elements": [{**element, "text": t}]} for t in texts[1:]]
        else:
            made.append(block)
    return made


def _header(block: Block) -> Block:
    words = str(block["text"]["text"])
    if len(words) > HEADER_TEXT:
        words = words[: HEADER_TEXT - 1].rsplit(" ", 1)[0] + "…"
    return {**block, "text": {**block["text"], "text": words}}


def size(block: Block) -> int:
    """The characters of text a block holds."""
    if block.get("type") == "section":
        return len(str((block.get("text") or {}).get("text", "")))
    if block.get("type") == "context":
        return sum(len(str(e.get("text", ""))) for e in block.get("elements", []))
    if block.get("type") == "header":
        return len(str(block["text"]["text"]))
    return 0


def messages(
    blocks: list[Block], *, most: int = MESSAGE_BLOCKS, follow: str = "in the thread below"
) -> list[list[Block]]:
    """Blocks as one message, or, when they do not fit, a first message holding what comes first
    (in the order given), the footer (trailing actions and context) and a line saying how many
    more follow in the thread, then the rest as thread replies, each within Slack's limits.
    Short sections side by side are joined to fit more in each message."""
    blocks = fitted(blocks)
    if _fits(blocks, most):
        return [blocks]
    footer: list[Block] = []
    while blocks and blocks[-1].get("type") in FOOTER and len(footer) < 2:
        footer.insert(0, blocks.pop())
    units = _joined(blocks)
    first = _take(units, most - len(footer) - 1, MESSAGE_CHARS - sum(map(size, footer)) - 100)
    rest = units[len(first) :]
    replies: list[list[Block]] = []
    while rest:
        page = _take(rest, most, MESSAGE_CHARS) or rest[:1]
        replies.append([block for block, _ in page])
        rest = rest[len(page) :]
    left = sum(n for _, n in units[len(first) :])
    more = f"➕ {left} more in {len(replies)} message{'s' * (len(replies) > 1)} {follow}."
    note = {"type": "context", "elements": [{"type": "mrkdwn", "text": more}]}
    return [[*(block for block, _ in first), note, *footer], *replies]


def view(blocks: list[Block], *, tail: str) -> list[Block]:
    """A modal's or the Home tab's blocks, within its 100: past that, the first ones and a line
    `tail` saying where the rest is ("/goals lists all 120")."""
    blocks = fitted(blocks)
    if len(blocks) <= VIEW_BLOCKS:
        return blocks
    note = {"type": "context", "elements": [{"type": "mrkdwn", "text": tail}]}
    return [*blocks[: VIEW_BLOCKS - 1], note]


def _fits(blocks: list[Block], most: int) -> bool:
    return len(blocks) <= most and sum(map(size, blocks)) <= MESSAGE_CHARS


def _joined(blocks: list[Block]) -> list[tuple[Block, int]]:
    """Blocks with how many of the given ones each stands for: plain sections side by side are
    joined into one while the text stays within a section's limit."""
    units: list[tuple[Block, int]] = []
    for block in blocks:
        if units and _plain(block) and _plain(units[-1][0]):
            last, n = units[-1]
            text = last["text"]["text"] + "\n\n" + block["text"]["text"]
            if len(text) <= SECTION_TEXT:
                units[-1] = ({**last, "text": {**last["text"], "text": text}}, n + 1)
                continue
        units.append((block, 1))
    return units


def _plain(block: Block) -> bool:
    return block.get("type") == "section" and set(block) <= {"type", "text"}


def _take(units: list[tuple[Block, int]], most: int, chars: int) -> list[tuple[Block, int]]:
    """The longest run from the start within `most` blocks and `chars` characters."""
    taken: list[tuple[Block, int]] = []
    used = 0
    for unit in units[:most]:
        used += size(unit[0])
        if used > chars:
            break
        taken.append(unit)
    return taken

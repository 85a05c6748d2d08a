"""Long markup text in pieces a platform takes: cut at line ends, never inside a style or link."""

from __future__ import annotations

from dataclasses import dataclass

FENCE = "```"


@dataclass(frozen=True)
class Markup:
    """What must stay balanced in a piece: style marks (an even count of each) and brackets."""

    marks: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]
    escape: str = ""  # a mark right after this is plain text (Slack's zero-width space)

    def balanced(self, text: str) -> bool:
        if any(self._count(text, mark) % 2 for mark in self.marks):
            return False
        return all(text.count(left) == text.count(right) for left, right in self.pairs)

    def _count(self, text: str, mark: str) -> int:
        found = text.count(mark) - text.count(FENCE) * (mark == "`") * 3
        return found - (text.count(self.escape + mark) if self.escape else 0)


def pieces(text: str, limit: int, markup: Markup) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at line ends (a longer line at a
    space where nothing is open); a code fence open at a cut is closed there and opened again
    at the start of the next piece, so every piece renders on its own."""
    if len(text) <= limit:
        return [text]
    room = limit - len(FENCE) - 1  # a piece may need a closing fence on a line of its own
    made: list[str] = []
    current: list[str] = []
    size = 0
    fenced = False
    for line in _lines(text, room - len(FENCE) - 1, markup):
        if current and size + 1 + len(line) > room:
            made.append("\n".join(current) + ("\n" + FENCE if fenced else ""))
            current, size = ([FENCE], len(FENCE)) if fenced else ([], -1)
        current.append(line)
        size += 1 + len(line)
        fenced ^= line.count(FENCE) % 2 == 1
    made.append("\n".join(current))
    return made


def _lines(text: str, room: int, markup: Markup) -> list[str]:
    """The lines of `text`, each one longer than `room` cut into several."""
    lines: list[str] = []
    for line in text.split("\n"):
        while len(line) > room:
            cut = _cut(line, room, markup)
            lines.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        lines.append(line)
    return lines


def _cut(line: str, room: int, markup: Markup) -> int:
    """Where to cut a long line: the last space within `room` with nothing open before it;
    else the last space; else at `room` (a word longer than a piece)."""
    spaces = [i for i in range(room, 0, -1) if line[i] == " "]
    for at in spaces:
        if markup.balanced(line[:at]):
            return at
    return spaces[0] if spaces else room

"""Neutral rich text: what the core says, as spans (strong, code, links…) each channel renders."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass


class Style(enum.StrEnum):
    PLAIN = "plain"
    STRONG = "strong"
    EMPHASIS = "emphasis"
    CODE = "code"  # a command or value to type as shown
    LINK = "link"
    SAID = "said"  # what a person typed, quoted: never read as markup


@dataclass(frozen=True)
class Span:
    text: str
    style: Style = Style.PLAIN
    url: str = ""


@dataclass(frozen=True)
class Rich:
    """A text made of spans; `str()` of it is its plain words, with no markup."""

    spans: tuple[Span, ...] = ()

    def __add__(self, other: Rich | str) -> Rich:
        return Rich(_merged((*self.spans, *of(other).spans)))

    def __radd__(self, other: str) -> Rich:
        return of(other) + self

    def __str__(self) -> str:
        return "".join(span.text for span in self.spans)

    def __bool__(self) -> bool:
        return any(span.text for span in self.spans)

    def join(self, parts: Iterable[Rich | str]) -> Rich:
        """`parts` with this text between each two, as `str.join` does."""
        spans: list[Span] = []  # merged once at the end: a prompt is built from many parts
        for i, part in enumerate(parts):
            if i:
                spans += self.spans
            spans += of(part).spans
        return Rich(_merged(spans))

    def lines(self) -> list[Rich]:
        """One text per line (the newlines of every span split it)."""
        found: list[list[Span]] = [[]]
        for span in self.spans:
            for i, piece in enumerate(span.text.split("\n")):
                if i:
                    found.append([])
                if piece:
                    found[-1].append(Span(piece, span.style, span.url))
        return [Rich(_merged(line)) for line in found]

    def dump(self) -> str | list[list[str]]:
        """A JSON value to store: a plain string when there is no markup, else the spans."""
        if all(span.style is Style.PLAIN for span in self.spans):
            return str(self)
        return [[s.style.value, s.text, *([s.url] if s.url else [])] for s in self.spans]

    @classmethod
    def load(cls, data: object) -> Rich:
        """What `dump` stored; a string (older rows too) is plain text."""
        if isinstance(data, list):
            return Rich(tuple(Span(str(s[1]), Style(s[0]), *map(str, s[2:3])) for s in data))
        return of("" if data is None else str(data))


def of(value: object) -> Rich:
    """`value` if it is rich text, else its string as plain text (an error's message, say)."""
    if isinstance(value, Rich):
        return value
    if isinstance(value, BaseException) and value.args and isinstance(value.args[0], Rich):
        return value.args[0]
    text = str(value)
    return Rich((Span(text),) if text else ())


def rich(*parts: Rich | str) -> Rich:
    """`parts` one after the other; strings are plain text."""
    return Rich().join(parts)


def strong(text: str) -> Rich:
    return _styled(text, Style.STRONG)


def emphasis(text: str) -> Rich:
    return _styled(text, Style.EMPHASIS)


def code(text: str) -> Rich:
    return _styled(text, Style.CODE)


def said(text: str) -> Rich:
    return _styled(text, Style.SAID)


def link(url: str, label: str) -> Rich:
    return Rich((Span(label or url, Style.LINK, url),)) if url else of(label)


def render(text: Rich, mark: Callable[[Span], str]) -> str:
    """`text` in a channel's markup: `mark` writes one span of one line (markup never spans
    a line break: no platform reads it across one)."""
    return "\n".join("".join(map(mark, line.spans)) for line in text.lines())


def _styled(text: str, style: Style) -> Rich:
    return Rich((Span(text, style),) if text else ())


def _merged(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Adjacent spans of one style (and link) as one, so equal texts compare equal."""
    out: list[Span] = []
    for span in spans:
        if not span.text:
            continue
        if out and (out[-1].style, out[-1].url) == (span.style, span.url):
            out[-1] = Span(out[-1].text + span.text, span.style, span.url)
        else:
            out.append(span)
    return tuple(out)

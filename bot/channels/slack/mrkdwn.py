"""Neutral rich text as Slack mrkdwn: *bold*, _italic_, `code`, <url|label>."""

from __future__ import annotations

from bot.core.rich import Rich, Span, Style, render

# Slack reads these three as its own syntax in any text; they must be sent as entities.
ESCAPED = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# mrkdwn has no escape for its markers: a zero-width space before one stops it from opening or
# closing a style, so what a person typed shows as they typed it.
NEUTRAL = str.maketrans({c: "\u200b" + c for c in "*_~`"})
MARKS = {Style.STRONG: "*", Style.EMPHASIS: "_", Style.CODE: "`"}


def mrkdwn(text: Rich) -> str:
    return render(text, _span)


def _span(span: Span) -> str:
    words = span.text.translate(ESCAPED)
    if span.style is Style.LINK:
        return f"<{span.url.translate(ESCAPED)}|{words.replace('|', '¦')}>"
    if span.style is Style.SAID:
        return words.translate(NEUTRAL)
    mark = MARKS.get(span.style, "")
    return f"{mark}{words}{mark}"

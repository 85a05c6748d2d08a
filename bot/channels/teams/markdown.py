"""Neutral rich text as the markdown subset Adaptive Card TextBlocks and Teams messages read:
**bold**, _italic_, [label](url); no inline code, so code is bold."""

from __future__ import annotations

from bot.core.rich import Rich, Span, Style, render

# What a person typed is escaped (CommonMark backslash escapes) so it never turns into markup.
ESCAPED = str.maketrans({c: "\\" + c for c in "\\*_~`[]"})
MARKS = {Style.STRONG: "**", Style.CODE: "**", Style.EMPHASIS: "_"}


def markdown(text: Rich) -> str:
    return render(text, _span)


def _span(span: Span) -> str:
    if span.style is Style.LINK:
        label = span.text.replace("[", "(").replace("]", ")")
        return f"[{label}]({span.url.replace(' ', '%20').replace(')', '%29')})"
    if span.style is Style.SAID:
        return span.text.translate(ESCAPED)
    mark = MARKS.get(span.style, "")
    return f"{mark}{span.text}{mark}"

"""Neutral rich text rendered by each channel: Slack mrkdwn, Teams markdown, the terminal."""

from __future__ import annotations

import json

from bot.channels.console import plain
from bot.channels.slack.mrkdwn import mrkdwn
from bot.channels.teams.markdown import markdown
from bot.core.rich import Rich, code, emphasis, link, rich, said, strong

FLAG = rich(
    "🚩 Erin flagged ",
    strong("R&D <v2>"),
    " at risk.\nBlocker: ",
    said("the *db* is_down_ ~now~ [x]"),
    "\nRun ",
    code("goalnudge sync"),
    ", see ",
    link("https://example.com/a?b=1&c=2", "the runbook"),
    " — ",
    emphasis("soon"),
)


def test_slack_gets_mrkdwn_with_its_entities_and_a_note_never_read_as_markup() -> None:
    assert mrkdwn(FLAG) == (
        "🚩 Erin flagged *R&amp;D &lt;v2&gt;* at risk.\n"
        "Blocker: the \u200b*db\u200b* is\u200b_down\u200b_ \u200b~now\u200b~ [x]\n"
        "Run `goalnudge sync`, see <https://example.com/a?b=1&amp;c=2|the runbook> — _soon_"
    )


def test_teams_gets_bold_links_and_no_backticks() -> None:
    assert markdown(FLAG) == (
        "🚩 Erin flagged **R&D <v2>** at risk.\n"
        "Blocker: the \\*db\\* is\\_down\\_ \\~now\\~ \\[x\\]\n"
        "Run **goalnudge sync**, see [the runbook](https://example.com/a?b=1&c=2) — _soon_"
    )


def test_the_terminal_shows_no_markup_characters() -> None:
    assert plain(FLAG) == (
        "🚩 Erin flagged “R&D <v2>” at risk.\n"
        "Blocker: the *db* is_down_ ~now~ [x]\n"
        "Run `goalnudge sync`, see the runbook <https://example.com/a?b=1&c=2> — soon"
    )


def test_markup_never_spans_a_line_break() -> None:
    text = rich(strong("two\nlines"))
    assert (mrkdwn(text), markdown(text), plain(text)) == (
        "*two*\n*lines*",
        "**two**\n**lines**",
        "“two”\n“lines”",
    )


def test_stored_text_comes_back_equal_and_a_plain_string_is_plain_text() -> None:
    stored = json.loads(json.dumps(FLAG.dump()))
    assert Rich.load(stored) == FLAG
    assert rich("no markup").dump() == "no markup"
    older = Rich.load("Update *Close ARR*?")  # a row planned before rich text: shown as stored
    assert mrkdwn(older) == "Update *Close ARR*?" and str(older) == "Update *Close ARR*?"


def test_joining_and_adding_merge_plain_runs() -> None:
    joined = rich("\n").join(["a", rich(strong("b")), "c"])
    assert joined == rich("a\n", strong("b"), "\nc")
    assert str(joined) == "a\nb\nc" and joined.lines() == [rich("a"), strong("b"), rich("c")]
    assert "x" + strong("y") + "z" == rich("x", strong("y"), "z")
    assert not rich() and not rich("", strong(""))

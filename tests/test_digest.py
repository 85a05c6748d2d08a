"""Managers' digests and the leader's roll-up, composed from what the week stored."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from conftest import Conversation

from bot.channels.console import render_digest, render_risks, render_rollup
from bot.core import checkins, digest
from bot.core.errors import NotAllowed, NotFound
from bot.core.model import Person
from bot.core.prompts import ActionId
from bot.demo import week

MONDAY = datetime(2026, 11, 16, tzinfo=UTC)


class Refusing:
    """The chat platform's word that some people cannot be reached (the Reachability port)."""

    def __init__(self, **reasons: str) -> None:
        self.reasons = reasons

    async def unreachable(self, person: Person) -> str | None:
        return self.reasons.get(person.email.split("@")[0])


async def test_the_week_adds_up_in_each_managers_digest(chat: Conversation) -> None:
    await week(chat)
    sales = await digest.compose(chat.deps, "Sales East", since=MONDAY)
    assert [(s.kr.title, s.status, s.pace) for s in sales.exceptions] == [
        ("Close $500k in New ARR (Bob)", "at risk", "behind by $65,455")
    ]
    assert [(s.kr.title, s.value, s.pace) for s in sales.rest] == [
        (
            "Close $600k in New ARR (Alice)",
            "$445,000 — 74% of quota $600,000, 62% of target $720,000",
            "on pace",
        ),
        ("Complete 45 demos", "30 demos — 67% of target 45 demos", "ahead by 4 demos"),
        (  # a decrease: ahead of its checkpoint's line (80 days by 30 Nov)
            "Cut the sales cycle from 90 to 75 days",
            "78.5 days, from 90 days: 77% of target 75 days",
            "ahead by 2.7 days",
        ),
    ]
    assert [(c.who, c.text) for c in sales.changes] == [  # one line per key result
        ("Alice Chen", "$300,000 → $445,000 (confirmed from the CRM)"),
        ("Bob Okafor", "$210,000 → $280,000 (updated by hand)"),
        ("Alice Chen", "26 demos → 30 demos (confirmed from the CRM)"),
        ("Bob Okafor", "90 days → 78.5 days (updated by hand)"),
    ]
    assert (sales.asked, sales.answered, sales.no_answer) == (5, 5, ())

    platform = await digest.compose(chat.deps, "platform", since=MONDAY)
    assert platform.no_answer == ("Grace Kim",)
    assert (platform.asked, platform.answered) == (3, 2)
    assert [(s.owner, s.kr.key, s.status) for s in platform.exceptions] == [
        ("Erin Walsh", "pay-gw", "at risk"),
        ("Farid Haddad", "fraud-api", "at risk"),
        ("Grace Kim", "mobile-sdk", "no recent update"),
        ("Farid Haddad", "uptime", "no recent update"),  # not asked this week: his flag was
    ]
    assert platform.rest == ()
    text = "\n".join(render_digest(platform))
    order = ["Needs attention:", "What changed:", "Participation:"]
    assert [text.index(h) for h in order] == sorted(text.index(h) for h in order)
    assert "2 of 3 check-ins answered (67%)" in text
    assert "No answer: Grace Kim" in text
    assert (
        "🚩 “Ship Payment Gateway v2” — Erin Walsh · at risk: overdue by 10 days; "
        "40% confident (below 70%) · 60%\n"
        "      Blocker: Waiting on the acquirer's sandbox certificates since Nov 10" in text
    )
    assert "due 13 Nov" not in text


async def test_a_second_week_reads_as_a_manager_acts_on_it(chat: Conversation) -> None:
    """After the demo's week: Erin flags the gateway a second time, Bob re-enters the number he
    already had, Slack refuses Farid; Grace never answered her prompt."""
    await week(chat)
    chat.at("2026-11-23 10:00", "Europe/Berlin")
    await chat.reply(
        "erin@acme.example",
        ActionId.FLAG_RISK,
        "⋯ → Flag as blocker, “The certificates arrived but fail validation”",
        prompt=False,
        kr="pay-gw",
        note="The certificates arrived but fail validation",
        link="https://acme.atlassian.net/browse/PAY-12",
    )
    await chat.reply(
        "bob@acme.example",
        ActionId.ADJUST,
        "Adjust… → 250000",
        prompt=False,
        kr="arr-bob",
        values={"value:arr-bob": "250000"},
    )
    chat.deps = replace(chat.deps, reachability=Refusing(farid="slack: user_disabled"))
    await checkins.plan(chat.deps, people=["farid@acme.example"], force=True)
    chat.at("2026-11-24 09:00", "Europe/Berlin")
    chat.said()  # the first week's transcript

    sales = await digest.compose(chat.deps, "Sales East")  # since Monday's digest was posted
    await chat.channel.post_digest(sales)
    platform = await digest.compose(chat.deps, "Platform", since=MONDAY)
    await chat.channel.post_digest(platform)
    said = chat.said()
    assert "$250,000 → $250,000" not in said
    assert "What changed: Nothing changed this week." in said
    assert (
        "⏳ “Release mobile SDK 3.0” — Grace Kim · no recent update "
        "(the last check-in expired unanswered) · 50%, due 11 Dec" in said
    )
    assert "“Release mobile SDK 3.0” — Grace Kim · on track" not in said
    assert "overdue by 11 days" in said and "due 13 Nov" not in said
    assert said.count("“Ship Payment Gateway v2” — Erin Walsh") == 1
    assert (
        "      Latest blocker (flagged 2×): The certificates arrived but fail validation "
        "link <https://acme.atlassian.net/browse/PAY-12>" in said
    )
    assert "Waiting on the acquirer's" not in said  # the latest note only
    assert "  1 of 2 check-ins answered (50%)" in said  # Erin answered, Grace did not
    assert (
        "  Not counted, could not be reached: Farid Haddad "
        "(could not be reached: slack: user_disabled)" in said
    )


async def test_the_demo_transcript_shows_what_the_database_holds(chat: Conversation) -> None:
    await week(chat)
    transcript = "\n".join(chat.lines)
    for kr in await chat.deps.directory.key_results(["alice@acme.example", "bob@acme.example"]):
        assert f"“{kr.title}” — " in transcript
    alice = await chat.deps.directory.key_result("arr-alice")
    assert alice is not None and alice.current == 445_000
    assert "$445,000 — 74% of quota $600,000, 62% of target $720,000 · on pace" in transcript
    assert "███████░░░  68%  Become the default payments platform" in transcript


async def test_a_digest_posted_resets_what_counts_as_new(chat: Conversation) -> None:
    await week(chat)  # the demo records both digests as posted on Monday
    again = await digest.compose(chat.deps, "Sales East")
    assert again.changes == () and again.asked == 0


async def test_rollup_lists_each_item_at_risk_with_its_note_and_team(chat: Conversation) -> None:
    await week(chat)
    nodes = await digest.rollup(chat.deps)
    [company] = nodes
    assert company.title == "Become the default payments platform for mid-market retail"
    sales, platform = company.children
    assert sales.progress == pytest.approx((445 / 720 + 30 / 45 + 11.5 / 15 + 280 / 600) / 4)
    assert platform.progress == pytest.approx((0.6 + 0.8 + 0.5 + 1.0) / 4)  # uptime holds
    assert company.progress == pytest.approx((sales.progress + platform.progress) / 2)
    assert (company.at_risk, platform.at_risk, sales.at_risk) == (3, 2, 1)
    shown = "\n".join([*render_rollup(nodes), *render_risks(nodes)])
    assert (
        "🚩 “Ship Payment Gateway v2” — Erin Walsh (Platform): overdue by 10 days; 40% confident "
        "(below 70%) · Waiting on the acquirer's sandbox certificates since Nov 10 · "
        "`digest Platform`" in shown
    )
    assert "🚩 “Close $500k in New ARR (Bob)” — Bob Okafor (Sales East): behind pace" in shown
    assert "Release mobile SDK 3.0 —" not in shown  # silent, not at risk
    assert "Keep 99.99% API uptime —" not in shown


async def test_only_the_manager_or_a_leader_reads_a_team_digest(chat: Conversation) -> None:
    with pytest.raises(NotAllowed, match="Only Platform's manager"):
        await digest.compose(chat.deps, "Platform", viewer="erin@acme.example")
    with pytest.raises(NotAllowed):
        await digest.compose(chat.deps, "Platform", viewer="sam@acme.example")
    assert (await digest.compose(chat.deps, "Platform", viewer="lena@acme.example")).team
    with pytest.raises(NotFound, match="There is no team 'Nope'"):
        await digest.compose(chat.deps, "Nope")

"""Managers' digests and the leader's roll-up, composed from what the week stored."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import Conversation

from bot.channels.console import render_digest
from bot.core import digest
from bot.core.errors import NotAllowed, NotFound
from bot.demo import week


async def test_the_week_adds_up_in_each_managers_digest(chat: Conversation) -> None:
    await week(chat)
    monday = datetime(2026, 11, 16, tzinfo=UTC)
    sales = await digest.compose(chat.deps, "Sales East", since=monday)
    assert [(line.title, line.value) for line in sales.lines] == [
        ("Close $600k in New ARR (Alice)", "$445,000 / $720,000"),
        ("Close $500k in New ARR (Bob)", "$250,000 / $600,000"),
    ]
    assert [c.text for c in sales.changes] == [
        "$300,000 → $384,000 (confirmed from the CRM)",
        "$210,000 → $250,000 (updated by hand)",
        "$384,000 → $445,000 (confirmed from the CRM)",
    ]
    assert (sales.asked, sales.answered, sales.no_answer) == (3, 3, ())

    platform = await digest.compose(chat.deps, "platform", since=monday)
    assert platform.no_answer == ("Grace Kim",)
    assert (platform.asked, platform.answered) == (3, 2)
    assert {(r.who, r.confidence) for r in platform.risks} == {
        ("Erin Walsh", 40),
        ("Farid Haddad", 55),
    }
    text = "\n".join(render_digest(platform))
    assert "Participation: 2 of 3 check-ins answered (67%)" in text
    assert "No answer: Grace Kim" in text
    assert (
        "🚩 Ship Payment Gateway v2 (Erin Walsh, 40% confident): Waiting on the acquirer's" in text
    )


async def test_the_demo_transcript_shows_what_the_database_holds(chat: Conversation) -> None:
    await week(chat)
    transcript = "\n".join(chat.lines)
    for kr in await chat.deps.directory.key_results(["alice@acme.example", "bob@acme.example"]):
        assert f"{kr.title}  " in transcript
    alice = await chat.deps.directory.key_result("arr-alice")
    assert alice is not None and alice.current == 445_000
    assert "$445,000 / $720,000" in transcript
    assert "██████░░░░  58%  Become the default payments platform" in transcript


async def test_a_digest_posted_resets_what_counts_as_new(chat: Conversation) -> None:
    await week(chat)  # the demo records both digests as posted on Monday
    again = await digest.compose(chat.deps, "Sales East")
    assert again.changes == () and again.asked == 0


async def test_rollup_ladders_key_results_up_to_the_company_theme(chat: Conversation) -> None:
    await week(chat)
    [company] = await digest.rollup(chat.deps)
    assert company.title == "Become the default payments platform for mid-market retail"
    sales, platform = company.children
    assert sales.progress == pytest.approx((445 / 720 + 250 / 600) / 2)
    assert platform.progress == pytest.approx((0.6 + 0.8 + 0.5) / 3)
    assert company.progress == pytest.approx((sales.progress + platform.progress) / 2)
    assert (company.at_risk, platform.at_risk, sales.at_risk) == (2, 2, 0)


async def test_only_the_manager_or_a_leader_reads_a_team_digest(chat: Conversation) -> None:
    with pytest.raises(NotAllowed, match="Only Platform's manager"):
        await digest.compose(chat.deps, "Platform", viewer="erin@acme.example")
    with pytest.raises(NotAllowed):
        await digest.compose(chat.deps, "Platform", viewer="sam@acme.example")
    assert (await digest.compose(chat.deps, "Platform", viewer="lena@acme.example")).team
    with pytest.raises(NotFound, match="There is no team 'Nope'"):
        await digest.compose(chat.deps, "Nope")

"""Jira: the real `jira` client against a fake Cloud and Data Center, risk in, flags out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from conftest import Conversation, with_sources
from fakes.jira import FakeJira

from bot.channels.slack.mrkdwn import mrkdwn
from bot.core.checkins import plan, prompt_for
from bot.core.deps import Deps
from bot.core.errors import IntegrationError
from bot.core.model import CheckInKind, CheckInState
from bot.core.prompts import ActionId
from bot.core.sync import sync
from integrations.jira import JiraCredentials, JiraTracker

ERIN = "erin@acme.example"


def stock(fake: FakeJira) -> None:
    fake.add_epic("PAY-12", "Payment Gateway v2", due="2026-11-13")
    fake.add_epic("RISK-7", "Fraud scoring API", due="2026-12-18")
    fake.add_epic("MOB-3", "Mobile SDK 3.0", due="2026-12-11", flagged=True)
    for i in range(15):
        fake.add_child("PAY-12", f"PAY-{100 + i}", done=i >= 6)
    for i in range(4):
        fake.add_child("RISK-7", f"RISK-{100 + i}", done=i > 0)


@pytest.fixture(params=["cloud", "datacenter"])
def jira(request: pytest.FixtureRequest) -> Iterator[FakeJira]:
    with FakeJira(request.param) as fake:
        stock(fake)
        yield fake


def tracker(fake: FakeJira) -> JiraTracker:
    if fake.mode == "cloud":
        return JiraTracker(JiraCredentials(fake.url, "bot@acme.example", "token"))
    return JiraTracker(JiraCredentials(fake.url, pat="pat-123"))


def with_jira(chat: Conversation, fake: FakeJira) -> Deps:
    deps = with_sources(chat.deps, jira=tracker(fake))
    chat.deps = deps
    return deps


async def test_every_epic_in_one_search_and_the_nudge_names_the_signal(
    jira: FakeJira, chat: Conversation
) -> None:
    jira.add_user("acct-erin", ERIN, "Erin Walsh")
    deps = with_jira(chat, jira)
    chat.at("2026-11-19 10:00", "Europe/Berlin")
    report = await sync(deps, "jira")
    assert report.ok, report.errors
    erin = await deps.directory.person(ERIN)
    assert erin is not None and erin.ids.get("jira") == "acct-erin"  # matched by email, remembered
    assert ("Erin Walsh", "Ship Payment Gateway v2", "PAY-12 In Progress, 6/15 open") in (
        report.readings
    )
    searches = [
        p for _, p in jira.calls if p.split("?")[0].endswith(("/api/2/search", "/search/jql"))
    ]
    assert len(searches) == 2  # the epics, then their children: never one call per person
    result = await plan(deps)
    [erin] = [r for r in result.planned if r.person == ERIN]
    assert mrkdwn(prompt_for(erin).headline) == (
        "Jira shows epic PAY-12 *Payment Gateway v2* is past its due date (Fri 13 Nov) with "
        "6 of 15 issues open."
    )
    [grace] = [r for r in result.planned if r.person == "grace@acme.example"]
    assert "is flagged as an impediment" in str(prompt_for(grace).headline)


async def test_jira_statuses_that_mean_blocked_are_mapped_at_the_edge(
    jira: FakeJira, chat: Conversation
) -> None:
    jira.issues["PAY-12"]["status"]["name"] = "On Hold"
    tracker = with_jira(chat, jira).sources.trackers["jira"]
    [epic] = await tracker.epics(["PAY-12"])
    assert (epic.status, epic.blocked) == ("On Hold", True)
    jira.issues["PAY-12"]["status"]["name"] = "In Review"
    [epic] = await tracker.epics(["PAY-12"])
    assert (epic.status, epic.blocked) == ("In Review", False)


async def test_flag_writes_back_a_comment_and_the_flag_and_on_track_clears_it(
    jira: FakeJira, chat: Conversation
) -> None:
    deps = with_jira(chat, jira)
    chat.at("2026-11-19 10:00", "Europe/Berlin")
    await chat.tick()
    outcome = await chat.reply(
        ERIN, ActionId.FLAG_RISK, "flag", note="Waiting on certs", write_back=True
    )
    assert str(outcome.text).endswith("🔗 Also flagged PAY-12 in Jira.")
    [(key, body)] = jira.comments
    assert key == "PAY-12" and "Erin Walsh" in body and "Waiting on certs" in body
    assert [o["value"] for o in jira.issues["PAY-12"][jira.flagged_field_id]] == ["Impediment"]
    await sync(deps, "jira")  # the tracker now shows it flagged
    cleared = await chat.reply(ERIN, ActionId.ON_TRACK, "on track", prompt=False, kr="pay-gw")
    assert str(cleared.text).endswith("🔗 Also cleared the flag on PAY-12 in Jira.")
    assert not jira.issues["PAY-12"][jira.flagged_field_id]


async def test_a_failed_write_back_is_reported_and_nothing_else_is_lost(
    jira: FakeJira, chat: Conversation
) -> None:
    deps = with_jira(chat, jira)
    chat.at("2026-11-19 10:00", "Europe/Berlin")
    await chat.tick()
    jira.fail_next(500, times=3)
    outcome = await chat.reply(ERIN, ActionId.FLAG_RISK, "flag", note="certs", write_back=True)
    assert outcome.ok and "⚠️ I couldn't flag PAY-12 in Jira just now" in str(outcome.text)
    [blocker] = await deps.ledger.open_blockers()
    assert blocker.note == "certs"
    told = await deps.outbox.in_state(CheckInState.SENT)
    assert any(r.person == "maya@acme.example" and r.kind is CheckInKind.NOTICE for r in told)


async def test_bad_credentials_are_one_clear_error(chat: Conversation) -> None:
    with FakeJira("cloud") as fake:
        stock(fake)
        wrong = JiraTracker(JiraCredentials(fake.url, "bot@acme.example", "wrong"))
        deps = with_sources(chat.deps, jira=wrong)
        report = await sync(deps, "jira")
    assert report.errors and report.errors[0].startswith("Jira: HTTP 401")


async def test_a_key_result_bound_to_jql_sums_up_what_it_matches(
    jira: FakeJira, chat: Conversation
) -> None:
    from bot.core.model import SourceBinding

    jql = "project = MOB AND fixVersion = 3.0"
    jira.register_jql(jql, ["MOB-3", "PAY-100", "PAY-110"])
    kr = await chat.deps.directory.key_result("mobile-sdk")
    assert kr is not None
    chart = await chat.deps.directory.export_chart()
    bound = replace(kr, source=SourceBinding("jira", query=jql))
    await chat.deps.directory.import_chart(
        replace(
            chart, key_results=tuple(bound if k.key == kr.key else k for k in chart.key_results)
        )
    )
    deps = with_jira(chat, jira)
    chat.at("2026-11-19 10:00", "Europe/Berlin")
    report = await sync(deps, "jira")
    assert (
        "Grace Kim",
        "Release mobile SDK 3.0",
        f"{jql} 1 of 3 done, 2/3 open",
    ) in report.readings
    result = await plan(deps)
    [grace] = [r for r in result.planned if r.person == "grace@acme.example"]
    assert mrkdwn(prompt_for(grace).headline).startswith(
        "Jira shows the work for *Release mobile SDK 3.0* (1 of 3 done) is flagged"
    )


async def test_a_rate_limit_is_waited_out(chat: Conversation) -> None:
    with FakeJira("cloud") as fake:
        stock(fake)
        deps = with_jira(chat, fake)
        await sync(deps, "jira")  # warm: the client and its field cache
        fake.fail_next(429, retry_after=1)
        report = await sync(deps, "jira")
    assert report.ok, report.errors
    assert sum(1 for method, path in fake.calls if "search/jql" in path) == 5  # 2 + 1 retried + 2


async def test_epic_keys_are_quoted_so_a_hostile_key_cannot_change_the_query(
    jira: FakeJira,
) -> None:
    found = await tracker(jira).epics(["PAY-12", "RISK-7"])
    assert [e.key for e in found] == ["PAY-12", "RISK-7"]
    link = "parent" if jira.mode == "cloud" else '"Epic Link"'
    assert jira.queries == [
        'key in ("PAY-12", "RISK-7") ORDER BY key',
        f'{link} in ("PAY-12", "RISK-7")',
    ]
    hostile = ["PAY-12", "PAY-1) OR project = X", 'MOB-3" OR key = "RISK-7\\']
    with pytest.raises(IntegrationError) as refused:
        await tracker(jira).epics(hostile)
    assert jira.queries[-1] == (
        'key in ("PAY-12", "PAY-1) OR project = X", "MOB-3\\" OR key = \\"RISK-7\\\\") ORDER BY key'
    )
    # Jira reads each as one (unknown) key: nothing else is searched, nothing else is returned
    assert "An issue with key 'PAY-1) OR project = X' does not exist" in str(refused.value)

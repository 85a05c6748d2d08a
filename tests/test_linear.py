"""Linear: the real `gql` client against a fake GraphQL endpoint, risk in, flags out."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date

import pytest
from conftest import Conversation, with_sources
from fakes.linear import FakeLinear

from bot.channels.slack.mrkdwn import mrkdwn
from bot.core.checkins import plan, prompt_for
from bot.core.deps import Deps
from bot.core.errors import AuthError, IntegrationError, TransientError
from bot.core.model import SourceBinding
from bot.core.prompts import ActionId
from bot.core.sync import sync
from bot.demo import bound_to
from integrations.linear import EPIC_PAGE, WORK_PAGE, LinearTracker

ERIN = "erin@acme.example"
SDK = "project:5f3e2a1b9c0d"


def stock(fake: FakeLinear) -> None:
    """The sample organisation's epics as Linear issues, their work as sub-issues."""
    fake.add_issue("PAY-12", "Payment Gateway v2", due="2026-11-13")
    fake.add_issue("RISK-7", "Fraud scoring API", due="2026-12-18")
    fake.add_issue("MOB-3", "Mobile SDK 3.0", due="2026-12-11", labels=("At risk",))
    for i in range(15):
        fake.add_issue(f"PAY-{100 + i}", "task", "Done" if i >= 6 else "Todo", parent="PAY-12")
    for i in range(4):
        fake.add_issue(f"RISK-{100 + i}", "task", "Done" if i else "In Review", parent="RISK-7")
    fake.add_project("5f3e2a1b9c0d", "Mobile SDK", target="2026-12-20", health="atRisk")
    for i, state in enumerate(["Done", "Canceled", "In Progress", "Todo", "Backlog"]):
        fake.add_issue(f"MOB-{10 + i}", "sdk work", state, project="5f3e2a1b9c0d")


@pytest.fixture
async def linear() -> AsyncIterator[FakeLinear]:
    async with FakeLinear() as fake:
        stock(fake)
        yield fake


def tracker(fake: FakeLinear, key: str = "lin_api_test") -> LinearTracker:
    return LinearTracker(key, fake.url, timeout=5)


async def with_linear(chat: Conversation, fake: FakeLinear, key: str = "lin_api_test") -> Deps:
    """The sample organisation's engineering key results read from Linear instead of Jira."""
    chart = await chat.deps.directory.export_chart()
    await chat.deps.directory.import_chart(bound_to(chart, {"jira": "linear"}))
    deps = with_sources(chat.deps, linear=tracker(fake, key))
    chat.deps = deps
    return deps


async def test_a_sync_reads_every_epic_in_two_calls_and_the_nudge_names_the_signal(
    linear: FakeLinear, chat: Conversation
) -> None:
    linear.users[ERIN.upper()] = "user-erin"  # Linear matches emails whatever their case
    deps = await with_linear(chat, linear)
    chat.at("2026-11-19 10:00", "Europe/Berlin")
    report = await sync(deps, "linear")
    assert report.ok, report.errors
    assert ("Erin Walsh", "Ship Payment Gateway v2", "PAY-12 In Progress, 6/15 open") in (
        report.readings
    )
    assert report.calls == 2 and linear.operations("Issues", "Work") == ["Issues", "Work"]
    erin = await deps.directory.person(ERIN)
    assert (
        erin is not None and erin.ids.get("linear") == "user-erin"
    )  # matched by email, remembered
    result = await plan(deps)
    [erin_prompt] = [r for r in result.planned if r.person == ERIN]
    assert mrkdwn(prompt_for(erin_prompt).headline) == (
        "Linear shows epic PAY-12 *Payment Gateway v2* is past its due date (Fri 13 Nov) with "
        "6 of 15 issues open."
    )
    [grace] = [r for r in result.planned if r.person == "grace@acme.example"]
    assert "is flagged as an impediment" in str(prompt_for(grace).headline)


async def rebind(chat: Conversation, **bindings: SourceBinding) -> None:
    """Bind key results (by id) to other tracker keys or queries, as an org file import would."""
    chart = await chat.deps.directory.export_chart()
    krs = tuple(replace(k, source=bindings.get(k.key, k.source)) for k in chart.key_results)
    await chat.deps.directory.import_chart(replace(chart, key_results=krs))


async def test_a_project_and_a_filter_query_sync_through_the_core(
    linear: FakeLinear, chat: Conversation
) -> None:
    linear.label("MOB-12", "payments")
    linear.label("MOB-13", "payments")
    query = "label:payments state:started state:unstarted"
    await rebind(
        chat,
        **{
            "mobile-sdk": SourceBinding("linear", epic=SDK),
            "fraud-api": SourceBinding("linear", query=query),
        },
    )
    deps = await with_linear(chat, linear)
    chat.at("2026-11-19 10:00", "Europe/Berlin")
    report = await sync(deps, "linear")
    assert report.ok, report.errors
    assert ("Grace Kim", "Release mobile SDK 3.0", f"{SDK} In Progress, 3/5 open") in (
        report.readings
    )
    assert ("Farid Haddad", "Launch the fraud scoring API", f"{query} 0 of 2 done, 2/2 open") in (
        report.readings
    )
    assert linear.operations("Issues", "Projects", "Work") == [
        "Issues", "Projects", "Work", "Issues"
    ]  # fmt: skip  # the bound epics and project, their work, then the query
    result = await plan(deps)
    [grace] = [r for r in result.planned if r.person == "grace@acme.example"]
    assert mrkdwn(prompt_for(grace).headline).startswith(
        f"Linear shows epic {SDK} *Mobile SDK* is flagged as an impediment"
    )


async def test_hundreds_of_keys_are_read_in_a_few_paged_calls() -> None:
    async with FakeLinear() as fake:
        keys = [f"ENG-{n}" for n in range(1, 301)] + [f"project:p{n:03d}" for n in range(120)]
        for n in range(1, 301):
            fake.add_issue(f"ENG-{n}", f"Epic {n}")
            fake.add_issue(f"SUB-{n}", "sub", "Done" if n % 3 else "Todo", parent=f"ENG-{n}")
        for n in range(120):
            fake.add_project(f"p{n:03d}", f"Project {n}")
            fake.add_issue(f"PRJ-{n}", "work", project=f"p{n:03d}")
        found = await tracker(fake).epics(keys)
    assert [e.key for e in found] == keys
    assert {(e.open_issues, e.total_issues) for e in found[:3]} == {(0, 1), (1, 1)}
    assert all((e.open_issues, e.total_issues) == (1, 1) for e in found[300:])
    bound = math.ceil(300 / EPIC_PAGE) + math.ceil(120 / EPIC_PAGE) + math.ceil(420 / WORK_PAGE)
    assert len(fake.calls) == bound == 7  # never one call per key


async def test_a_project_and_an_issue_map_to_epic_facts(linear: FakeLinear) -> None:
    project, issue = await tracker(linear).epics([SDK, "RISK-7"])
    assert project == replace(
        project,
        key=SDK,
        title="Mobile SDK",
        status="In Progress",
        done=False,
        due=date(2026, 12, 20),
        open_issues=3,  # In Progress, Todo, Backlog; Done and Canceled are closed
        total_issues=5,
        flagged=True,  # its health is at risk
        blocked=False,
        link="https://linear.app/acme/project/mobile-sdk-5f3e2a1b9c0d",
    )
    assert project.updated is not None and project.updated.isoformat() == (
        "2026-11-17T16:00:00+00:00"
    )
    assert (issue.key, issue.title, issue.status, issue.due) == (
        "RISK-7", "Fraud scoring API", "In Progress", date(2026, 12, 18)
    )  # fmt: skip
    assert (issue.open_issues, issue.total_issues, issue.flagged, issue.blocked) == (
        1, 4, False, False
    )  # fmt: skip
    assert issue.link == "https://linear.app/acme/issue/risk-7"


async def test_blocked_and_flagged_are_read_from_states_labels_and_health(
    linear: FakeLinear,
) -> None:
    linear.issues["PAY-12"]["state"] = "Blocked"
    linear.label("RISK-7", "blocked")
    linear.projects["5f3e2a1b9c0d"]["health"] = "onTrack"
    found = {e.key: e for e in await tracker(linear).epics(["PAY-12", "RISK-7", "MOB-3", SDK])}
    assert {k: (e.blocked, e.flagged) for k, e in found.items()} == {
        "PAY-12": (True, False),  # a state named Blocked
        "RISK-7": (True, False),  # a label named Blocked, whatever its case
        "MOB-3": (False, True),  # the At risk label
        SDK: (False, False),  # on track
    }
    linear.issues["PAY-12"]["state"] = "Done"
    [done] = await tracker(linear).epics(["PAY-12"])
    assert (done.done, done.blocked) == (True, False)


async def test_a_query_in_the_filter_language_sums_up_what_it_matches(
    linear: FakeLinear,
) -> None:
    for key in ("MOB-12", "MOB-13", "MOB-14"):
        linear.label(key, "payments")
    text = 'team:MOB label:payments state:started state:"Todo"'
    epic = await tracker(linear).query(text)
    assert (epic.key, epic.status, epic.open_issues, epic.total_issues) == (
        text, "0 of 2 done", 2, 2
    )  # fmt: skip  # MOB-12 In Progress (started), MOB-13 Todo; MOB-14 Backlog is neither
    [(_, sent)] = [c for c in linear.calls if c[0] == "Issues"]
    assert sent["filter"]["and"][0] == {"team": {"key": {"in": ["MOB"]}}}


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("project = MOB AND status = Done", "cannot filter on a term without ':'"),
        ("team:MOB priority:1", "cannot filter on 'priority'"),
        ("", "an empty query"),
        ('team:"MOB', "unbalanced quotes"),
    ],
)
async def test_anything_outside_the_filter_language_is_refused_before_any_call(
    linear: FakeLinear, text: str, said: str
) -> None:
    with pytest.raises(IntegrationError) as refused:
        await tracker(linear).query(text)
    assert str(refused.value).startswith(f"Linear: {said}")
    assert "team, project, label, assignee, parent, state" in str(refused.value)
    assert linear.calls == []


async def test_an_account_is_found_by_email_once_per_process(linear: FakeLinear) -> None:
    linear.users[ERIN] = "user-erin"
    linear_tracker = tracker(linear)
    assert await linear_tracker.account(ERIN) == "user-erin"
    assert await linear_tracker.account("nobody@acme.example") is None
    assert await linear_tracker.account(ERIN) == "user-erin"
    assert await linear_tracker.account("nobody@acme.example") is None
    assert linear.operations() == ["Users", "Users"]


async def test_flag_writes_a_comment_and_the_label_and_on_track_clears_it(
    linear: FakeLinear, chat: Conversation
) -> None:
    deps = await with_linear(chat, linear)
    chat.at("2026-11-19 10:00", "Europe/Berlin")
    await chat.tick()
    outcome = await chat.reply(
        ERIN, ActionId.FLAG_RISK, "flag", note="Waiting on certs", write_back=True
    )
    assert str(outcome.text).endswith("🔗 Also flagged PAY-12 in Linear.")
    [(key, body)] = linear.comments
    assert key == "PAY-12" and "Erin Walsh" in body and "Waiting on certs" in body
    assert linear.label_names("PAY-12") == ["At risk"]
    assert linear.operations("LabelCreate") == []  # the workspace's own At risk label
    source = deps.sources.trackers["linear"]
    [epic] = await source.epics(["PAY-12"])
    assert epic.flagged
    await sync(deps, "linear")  # the tracker now shows it flagged
    cleared = await chat.reply(ERIN, ActionId.ON_TRACK, "on track", prompt=False, kr="pay-gw")
    assert str(cleared.text).endswith("🔗 Also cleared the flag on PAY-12 in Linear.")
    assert linear.label_names("PAY-12") == []
    [epic] = await source.epics(["PAY-12"])
    assert not epic.flagged


async def test_the_at_risk_label_is_created_once_for_a_team_that_has_none() -> None:
    async with FakeLinear() as fake:
        fake.add_issue("ENG-1", "Epic one")
        fake.add_issue("ENG-2", "Epic two")
        fake.add_label("At risk", team="OTHER")  # another team's label cannot be used
        linear_tracker = tracker(fake)
        await linear_tracker.flag("ENG-1", "no certs", "Erin Walsh")
        await linear_tracker.flag("ENG-2", "no review", "Erin Walsh")
        assert fake.operations("LabelCreate") == ["LabelCreate"]
        found = await linear_tracker.epics(["ENG-1", "ENG-2"])
    assert [e.flagged for e in found] == [True, True]


async def test_a_project_is_flagged_with_an_at_risk_update_and_cleared_with_on_track(
    linear: FakeLinear,
) -> None:
    linear.projects["5f3e2a1b9c0d"]["health"] = "onTrack"
    linear_tracker = tracker(linear)
    await linear_tracker.flag(SDK, "Store review pending", "Grace Kim")
    [(slug, health, body)] = linear.project_updates
    assert (slug, health) == ("5f3e2a1b9c0d", "atRisk")
    assert "Grace Kim" in body and "Store review pending" in body
    [project] = await linear_tracker.epics([SDK])
    assert project.flagged
    await linear_tracker.unflag(SDK)
    assert linear.project_updates[-1][:2] == ("5f3e2a1b9c0d", "onTrack")
    [project] = await linear_tracker.epics([SDK])
    assert not project.flagged


async def test_a_rate_limited_answer_is_waited_out(linear: FakeLinear, chat: Conversation) -> None:
    deps = await with_linear(chat, linear)
    linear.rate_limit(times=1, reset_in=1.0)
    report = await sync(deps, "linear")
    assert report.ok, report.errors
    assert linear.operations("Issues", "Work") == ["Issues", "Issues", "Work"]
    assert linear.arrivals[1] >= linear.limited[0]  # not before the reset Linear announced


async def test_a_bad_api_key_is_one_clear_error(linear: FakeLinear, chat: Conversation) -> None:
    deps = await with_linear(chat, linear, "lin_api_wrong")
    report = await sync(deps, "linear")
    assert report.errors == ["Linear: Authentication required, not authenticated"]
    with pytest.raises(AuthError):
        await tracker(linear, "lin_api_wrong").flag("PAY-12", "note", "Erin Walsh")
    assert "lin_api_wrong" not in str(report.errors)


async def test_an_unreachable_linear_is_a_transient_error() -> None:
    async with FakeLinear() as fake:
        url = fake.url
    with pytest.raises(TransientError) as unreachable:
        await LinearTracker("lin_api_test", url, timeout=5).epics(["PAY-12"])
    assert str(unreachable.value).startswith("Linear: unreachable")

"""Sync benchmark: API calls and wall time of each source's sync against the fakes."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.hubspot import FakeHubSpot  # noqa: E402
from fakes.jira import FakeJira  # noqa: E402
from fakes.linear import FakeLinear  # noqa: E402
from fakes.salesforce import FakeSalesforce  # noqa: E402

from bot.app import build_deps  # noqa: E402
from bot.core.deps import Deps, FixedClock  # noqa: E402
from bot.core.model import (  # noqa: E402
    Identities,
    KeyResult,
    KrKind,
    Objective,
    Organisation,
    OrgChart,
    Person,
    Role,
    SourceBinding,
)
from bot.core.sync import SyncReport, sync  # noqa: E402
from bot.demo import bound_to  # noqa: E402
from integrations import registry  # noqa: E402
from integrations.hubspot import OWNERS_PER_SEARCH, PAGE, HubSpotCrm  # noqa: E402
from integrations.jira import JiraCredentials, JiraTracker  # noqa: E402
from integrations.linear import EPIC_PAGE, WORK_PAGE, LinearTracker  # noqa: E402
from integrations.salesforce import GROUPS, Credentials, SalesforceCrm  # noqa: E402
from storage import Store, open_store, upgrade  # noqa: E402

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
START, END = date(2026, 10, 1), date(2026, 12, 31)
DEAL_DAYS = ("2026-10-15", "2026-11-10")  # two won deals per rep, both inside the period
CHILDREN = 3  # issues per epic
METRICS = 1  # CRM metrics synced (closed_won_amount), each one query per 2,000 owners
JIRA_PAGE = 100  # what the jira client asks per page when fetching everything (Cloud's maximum)
SF_LOGIN = ("bench@acme.example", "pw", "TOKEN")
JIRA_LOGIN = ("bot@acme.example", "token")
log = logging.getLogger("bench.sync")


def owner(i: int) -> str:
    return f"005{i:015d}"


def deals(i: int) -> tuple[float, float]:
    return 1000.0 + i, 500.0 + 100 * (i % 7)


def cycle_created(i: int) -> datetime:
    return datetime(2026, 9, 1, 12, tzinfo=UTC) - timedelta(days=i % 5)


EXTRA = (  # each further Salesforce metric: its options, each rep's figure, its call bound
    ("closed_won_count", (), lambda i: 2.0, lambda p: math.ceil(p / GROUPS) + 1),
    ("opportunities_created", (), lambda i: 1.0 + i % 2, lambda p: math.ceil(p / GROUPS)),
    ("meetings_held", (("event_type", "Demo"), ("task_type", "Demo")), lambda i: i % 3 + 2.0,
     lambda p: 2 * math.ceil(p / GROUPS)),
    ("win_rate", (), lambda i: 66.7, lambda p: math.ceil(p / (GROUPS // 2 - 1))),
    ("sales_cycle_days", (), lambda i: 57.0 + i % 5,
     lambda p: math.ceil(len(DEAL_DAYS) * p / GROUPS)),
)  # fmt: skip


def epic(j: int) -> str:
    return f"EPC-{j}"


def done_children(j: int) -> int:
    return min(j % 4, CHILDREN)


def chart(people: int, epics: int) -> OrgChart:
    reps = [
        Person(
            f"rep{i}@bench.example",
            f"Rep {i}",
            Role.SALES,
            ids=Identities.of(salesforce=owner(i), hubspot=owner(i)),  # one id in each CRM
        )
        for i in range(people)
    ]
    engineers = [
        Person(
            f"eng{j}@bench.example",
            f"Engineer {j}",
            Role.ENGINEERING,
            ids=Identities.of(jira=f"acct-{j}", linear=f"user-{j}"),  # known in each tracker
        )
        for j in range(1, epics + 1)
    ]
    objectives = (
        Objective("arr", "Grow new ARR", START, END),
        Objective("ship", "Ship the roadmap", START, END),
    )
    crm = SourceBinding("salesforce", metric="closed_won_amount")
    krs = [
        KeyResult(f"arr-{i}", "arr", f"Close $1M (Rep {i})", p.email, unit="$", target=1e6,
                  source=crm)
        for i, p in enumerate(reps)
    ] + [
        KeyResult(f"ship-{j}", "ship", f"Ship {epic(j)}", engineers[j - 1].email,
                  kind=KrKind.MILESTONE, source=SourceBinding("jira", epic=epic(j)))
        for j in range(1, epics + 1)
    ]  # fmt: skip
    org = Organisation("bench-sync", "Bench")
    return OrgChart(org, tuple(reps + engineers), (), objectives, tuple(krs))


def seed_fakes(sf: FakeSalesforce, jira: FakeJira, people: int, epics: int) -> None:
    sf.page_size = GROUPS  # Salesforce's 2,000 records per page
    jira.page_size = JIRA_PAGE  # Jira Cloud's maximum; the client asks for 100
    for i in range(people):
        for amount, day in zip(deals(i), DEAL_DAYS, strict=True):
            sf.add_opportunity(owner(i), amount, day, created_date=cycle_created(i))
        sf.add_opportunity(owner(i), 100, "2026-10-20", is_won=False, is_closed=True,
                           created_date=datetime(2026, 10, 5, tzinfo=UTC))  # fmt: skip
        if i % 2:  # still open
            sf.add_opportunity(owner(i), 100, "2026-12-20", is_won=False,
                               created_date=datetime(2026, 10, 6, tzinfo=UTC))  # fmt: skip
        for d in range(i % 3 + 1):
            sf.add_event(owner(i), f"2026-10-{10 + d}", event_type="Demo")
        sf.add_task(owner(i), datetime(2026, 10, 12, 15, tzinfo=UTC), task_type="Demo")
    child = 0
    for j in range(1, epics + 1):
        jira.add_epic(epic(j), f"Epic {j}", due="2026-12-11")
        for c in range(CHILDREN):
            child += 1
            jira.add_child(epic(j), f"TSK-{child}", done=c < done_children(j))


def seed_linear(linear: FakeLinear, epics: int) -> None:
    """The same epics as Linear issues, their children as sub-issues."""
    child = 0
    for j in range(1, epics + 1):
        linear.add_issue(epic(j), f"Epic {j}", due="2026-12-11")
        for c in range(CHILDREN):
            child += 1
            linear.add_issue(f"TSK-{child}", "task", "Done" if c < done_children(j) else "Todo",
                             parent=epic(j))  # fmt: skip


def pages(count: int, size: int) -> int:
    return max(1, math.ceil(count / size))


async def correct(deps: Deps, people: int, epics: int, reports: list[SyncReport]) -> list[bool]:
    """Every rep's snapshot is the sum of their deals; every epic's open/total counts are right."""
    for report in reports:
        if report.errors:
            log.error("%s sync errors: %s", report.source, report.errors[:5])
    sf = await deps.snapshots.latest("salesforce", [f"arr-{i}" for i in range(people)])
    bad_sf = [
        i for i in range(people) if (s := sf.get(f"arr-{i}")) is None or s.value != sum(deals(i))
    ]
    bad_jira = await wrong_epics(deps, "jira", epics)
    if bad_sf or bad_jira:
        log.error("wrong snapshots: reps %s, epics %s", bad_sf[:10], bad_jira[:10])
    return [not bad_sf and not reports[0].errors, not bad_jira and not reports[1].errors]


async def wrong_epics(deps: Deps, source: str, epics: int) -> list[int]:
    """The epics whose snapshot from `source` has the wrong open/total counts."""
    found = await deps.snapshots.latest(source, [f"ship-{j}" for j in range(1, epics + 1)])
    want = {j: (CHILDREN - done_children(j), CHILDREN) for j in range(1, epics + 1)}
    return [
        j for j, (open_, total) in want.items()
        if (s := found.get(f"ship-{j}")) is None
        or (s.value, s.details.get("open_issues"), s.details.get("total_issues"))
        != (open_, open_, total)
    ]  # fmt: skip


def explain(system: str, result: dict[str, object], calls: list[tuple[str, str]]) -> None:
    """Over the bound: log the calls made (runs of the same request collapsed) to stderr."""
    if result["within_bound"]:
        return
    made = groupby(f"{method_or_path} {rest[:100]}" for method_or_path, rest in calls)
    shown = "\n".join(f"  {len(list(run))} x {call}" for call, run in made)
    log.warning("%s: %s API calls > bound %s; the calls:\n%s", system, result["api_calls"],
                result["bound"], shown)  # fmt: skip


async def run(args: argparse.Namespace, database_url: str) -> list[dict[str, object]]:
    username, password, token = SF_LOGIN
    sf = FakeSalesforce(users_login={username: (password, token)})
    jira = FakeJira("cloud", credentials=JIRA_LOGIN)
    with sf, jira:
        os.environ["REQUESTS_CA_BUNDLE"] = sf.ca_bundle  # how requests trusts the fake's CA
        seed_fakes(sf, jira, args.people, args.epics)
        await upgrade(database_url)
        store = open_store(database_url)
        try:
            await store.directory.import_chart(chart(args.people, args.epics))
            creds = Credentials(
                username=username, password=password, security_token=token, domain=sf.login_domain
            )
            crm = SalesforceCrm(creds)
            tracker = JiraTracker(JiraCredentials(jira.url, *JIRA_LOGIN))
            deps = build_deps(
                store, FixedClock(NOW), registry.of({"salesforce": crm, "jira": tracker})
            )
            started = time.perf_counter()
            crm_report = await sync(deps, "salesforce")
            crm_seconds = time.perf_counter() - started
            started = time.perf_counter()
            tracker_report = await sync(deps, "jira")
            tracker_seconds = time.perf_counter() - started
            ok = await correct(deps, args.people, args.epics, [crm_report, tracker_report])
            sf_calls, sf_made = sf.api_calls, list(sf.calls)
            metrics = await salesforce_metrics(store, deps, sf, args.people, args.epics)
            hubspot = await hubspot_sync(store, args.people, args.epics)
            linear_result = await sync_linear(store, args.people, args.epics)
        finally:
            await store.close()
    size = min(JIRA_PAGE, jira.page_size)
    sf_bound = METRICS * math.ceil(args.people / GROUPS) + 2
    jira_bound = pages(args.epics, size) + pages(args.epics * CHILDREN, size) + 2
    salesforce: dict[str, object] = {
        "bench": "sync", "system": "salesforce", "people": args.people,
        "api_calls": sf_calls, "bound": sf_bound, "seconds": round(crm_seconds, 3),
        "client_calls": crm_report.calls, "within_bound": sf_calls <= sf_bound, "correct": ok[0],
    }  # fmt: skip
    tracked: dict[str, object] = {
        "bench": "sync", "system": "jira", "epics": args.epics, "api_calls": len(jira.calls),
        "bound": jira_bound, "seconds": round(tracker_seconds, 3), "client_calls": tracker.calls,
        "within_bound": len(jira.calls) <= jira_bound, "correct": ok[1],
    }  # fmt: skip
    explain("salesforce", salesforce, sf_made)
    explain("jira", tracked, jira.calls)
    return [salesforce, *metrics, tracked, hubspot, linear_result]


async def salesforce_metrics(
    store: Store, deps: Deps, sf: FakeSalesforce, people: int, epics: int
) -> list[dict[str, object]]:
    """The same reps' key results bound to each further Salesforce metric in turn, one sync
    each: its calls at the fake against the metric's bound, and every rep's figure checked."""
    results: list[dict[str, object]] = []
    crm = deps.sources.crms["salesforce"]
    for metric, options, want, bound_of in EXTRA:
        binding = SourceBinding("salesforce", metric=metric, options=options)
        base = chart(people, epics)
        krs = tuple(replace(kr, source=binding) if kr.key.startswith("arr-") else kr
                    for kr in base.key_results)  # fmt: skip
        await store.directory.import_chart(replace(base, key_results=krs))
        calls, client_calls, sf.calls = sf.api_calls, crm.calls, []
        started = time.perf_counter()
        report = await sync(deps, "salesforce")
        seconds = time.perf_counter() - started
        found = await deps.snapshots.latest("salesforce", [f"arr-{i}" for i in range(people)])
        bad = [i for i in range(people) if (s := found.get(f"arr-{i}")) is None
               or s.metric != metric or s.value != want(i)]  # fmt: skip
        if bad or report.errors:
            log.error("%s: wrong snapshots for reps %s; errors %s", metric, bad[:10],
                      report.errors[:5])  # fmt: skip
        made, bound = sf.api_calls - calls, bound_of(people)
        result: dict[str, object] = {
            "bench": "sync", "system": "salesforce", "metric": metric, "people": people,
            "api_calls": made, "bound": bound, "seconds": round(seconds, 3),
            "client_calls": crm.calls - client_calls, "within_bound": made <= bound,
            "correct": not bad and not report.errors,
        }  # fmt: skip
        explain(f"salesforce {metric}", result, sf.calls)
        results.append(result)
    return results


async def hubspot_sync(store: Store, people: int, epics: int) -> dict[str, object]:
    """The same reps and deals read from HubSpot (their key results bound to it now, beside the
    engineers' Jira): one deal search per 100 owners and 200 deals."""
    await store.directory.import_chart(bound_to(chart(people, epics), {"salesforce": "hubspot"}))
    async with FakeHubSpot() as fake:
        for i in range(people):
            for amount, day in zip(deals(i), DEAL_DAYS, strict=True):
                fake.add_deal(owner(i), amount, day)
        crm = HubSpotCrm(fake.token, fake.url)
        deps = build_deps(store, FixedClock(NOW), registry.of({"hubspot": crm}))
        started = time.perf_counter()
        report = await sync(deps, "hubspot")
        seconds = time.perf_counter() - started
    found = await deps.snapshots.latest("hubspot", [f"arr-{i}" for i in range(people)])
    bad = [i for i in range(people) if (s := found.get(f"arr-{i}")) is None
           or s.value != sum(deals(i))]  # fmt: skip
    if bad or report.errors:
        log.error("HubSpot: wrong snapshots for reps %s; errors %s", bad[:10], report.errors[:5])
    bound = (
        METRICS
        * math.ceil(people / OWNERS_PER_SEARCH)
        * pages(len(DEAL_DAYS) * OWNERS_PER_SEARCH, PAGE)
    )
    result: dict[str, object] = {
        "bench": "sync", "system": "hubspot", "people": people, "api_calls": len(fake.calls),
        "bound": bound, "seconds": round(seconds, 3), "client_calls": crm.calls,
        "within_bound": len(fake.calls) <= bound, "correct": not bad and not report.errors,
    }  # fmt: skip
    explain("hubspot", result, [(call, json.dumps(body)) for call, body in fake.calls])
    return result


async def sync_linear(store: Store, people: int, epics: int) -> dict[str, object]:
    """The same epic key results read from Linear (its fake on this loop, the key results bound
    to it now) by the real gql client."""
    now_bound = {"salesforce": "hubspot", "jira": "linear"}
    await store.directory.import_chart(bound_to(chart(people, epics), now_bound))
    async with FakeLinear() as linear:
        seed_linear(linear, epics)
        tracker = LinearTracker(linear.api_key, linear.url)
        deps = build_deps(store, FixedClock(NOW), registry.of({"linear": tracker}))
        started = time.perf_counter()
        report = await sync(deps, "linear")
        seconds = time.perf_counter() - started
    bad = await wrong_epics(deps, "linear", epics)
    if bad or report.errors:
        log.error("Linear: wrong snapshots %s, errors %s", bad[:10], report.errors[:5])
    bound = pages(epics, EPIC_PAGE) + pages(epics * CHILDREN, WORK_PAGE)
    result: dict[str, object] = {
        "bench": "sync", "system": "linear", "epics": epics, "api_calls": len(linear.calls),
        "bound": bound, "seconds": round(seconds, 3), "client_calls": tracker.calls,
        "within_bound": len(linear.calls) <= bound, "correct": not bad and not report.errors,
    }  # fmt: skip
    explain("linear", result, [(name, json.dumps(v)) for name, v in linear.calls])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=5000, help="sales reps, one CRM KR each")
    parser.add_argument("--epics", type=int, default=1000, help="engineers, one epic KR each")
    args = parser.parse_args()
    if args.people < 1 or args.epics < 1:
        parser.error("--people and --epics must be at least 1")
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(run(args, f"sqlite+aiosqlite:///{Path(tmp) / 'sync.db'}"))
    for result in results:
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

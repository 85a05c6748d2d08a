"""A big team grown on the sample org, built in code: many people, many key results each."""

from __future__ import annotations

from dataclasses import replace

from bot.core.deps import Deps
from bot.core.model import KeyResult, Objective, Person, Role, SourceBinding, Status

CRM = SourceBinding("salesforce", metric="closed_won_amount")


def title(owner: int, n: int) -> str:
    return f"Cut p99 latency of service {owner:03d}-{n} below 200 ms"


async def grow_team(deps: Deps, team: str, people: int, each: int, at_risk: int) -> list[str]:
    """`people` engineers join `team`, each with `each` key results; the first `at_risk` key
    results are at risk. Returns the titles, in order."""
    chart = await deps.directory.export_chart()
    [found] = [t for t in chart.teams if t.name == team]
    base = chart.objectives[0]
    objective = Objective("big", f"{team} at scale", base.period_start, base.period_end)
    emails = [f"eng{i:03d}@acme.example" for i in range(people)]
    joined = tuple(
        Person(e, f"Engineer {i:03d}", Role.ENGINEERING, manager=found.manager)
        for i, e in enumerate(emails)
    )
    krs: list[KeyResult] = []
    for i, owner in enumerate(emails):
        for n in range(each):
            risky = len(krs) < at_risk
            krs.append(
                KeyResult(
                    f"big-{i:03d}-{n}",
                    "big",
                    title(i, n),
                    owner,
                    unit="ms",
                    start=400,
                    target=200,
                    current=300,
                    confidence=40 if risky else 80,
                    status=Status.AT_RISK if risky else Status.ON_TRACK,
                )
            )
    teams = tuple(
        replace(t, members=t.members + tuple(emails)) if t is found else t for t in chart.teams
    )
    await deps.directory.import_chart(
        replace(
            chart,
            people=chart.people + joined,
            teams=teams,
            objectives=(*chart.objectives, objective),
            key_results=chart.key_results + tuple(krs),
        )
    )
    return [kr.title for kr in krs]


async def load_up(deps: Deps, email: str, count: int, *, crm: bool = False) -> list[str]:
    """Give one person `count` more key results (CRM-bound ones when `crm`); their titles."""
    chart = await deps.directory.export_chart()
    base = chart.objectives[0]
    krs = tuple(
        KeyResult(
            f"more-{n:03d}",
            base.key,
            f"Close deal group {n:03d} for {email.split('@')[0]}",
            email,
            unit="$",
            target=50_000,
            source=CRM if crm else SourceBinding(),
        )
        for n in range(count)
    )
    await deps.directory.import_chart(replace(chart, key_results=chart.key_results + krs))
    return [kr.title for kr in krs]

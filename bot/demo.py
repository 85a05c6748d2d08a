"""`goalnudge demo`: one working week of the sample organisation, played as a transcript."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import count
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from bot.app import build_deps
from bot.channels.console import ConsoleChannel
from bot.core import checkins, digest
from bot.core.answers import answer
from bot.core.delivery import chase, deliver
from bot.core.deps import Deps, FixedClock
from bot.core.model import OrgChart, SourceBinding
from bot.core.ports import CrmSource, TrackerSource
from bot.core.prompts import ActionId, Answer, Outcome
from bot.core.sync import sync_all
from bot.core.writeback import settled
from bot.orgfile import load_file
from integrations import registry
from integrations.sample import SampleCrm, SampleTracker
from storage import open_store, upgrade

DATA = Path(__file__).resolve().parent / "data"
SAMPLE_ORG = DATA / "sample-org.yaml"
SAMPLE_DATA = DATA / "sample-data.yaml"


@dataclass
class Demo:
    deps: Deps
    clock: FixedClock
    channel: ConsoleChannel
    write: Callable[[str], None]
    ids: count[int] = field(default_factory=lambda: count(1))

    def at(self, when: str, zone: str) -> None:
        moment = datetime.fromisoformat(when).replace(tzinfo=ZoneInfo(zone))
        self.clock.set(moment)
        self.write("")
        self.write(f"── {moment:%A %d %B, %H:%M} ({zone}) " + "─" * 20)

    async def tick(self, *, sync: bool = True) -> checkins.PlanResult:
        """What the scheduler does at each moment: sync, plan, send, chase."""
        if sync:
            for report in await sync_all(self.deps):
                found = "; ".join(f"{who}: {value}" for who, _kr, value in report.readings)
                calls = f"{report.calls} API call{'s' * (report.calls != 1)}"
                self.write(f"   ({report.source} sync, {calls}: {found})")
        result = await checkins.plan(self.deps)
        names = {p.email: p.name for p in await self.deps.directory.people()}
        for email in result.quiet:
            self.write(f"   ({names[email]}: nothing new in the source — no nudge)")
        for row in result.skipped:
            self.write(f"   ({names[row.person]}: skipped — {row.skip_reason})")
        await deliver(self.deps, self.channel)
        await chase(self.deps, self.channel)
        return result

    async def asked(self, email: str) -> bool:
        """Whether `email` has a prompt open: a variant whose CRM reads less asks less."""
        return await self.deps.outbox.open_prompt(email) is not None

    async def reply(
        self, email: str, action: ActionId, said: str, prompt: bool = True, **fields: Any
    ) -> Outcome:
        person = await self.deps.directory.person(email)
        assert person is not None
        row = await self.deps.outbox.open_prompt(email) if prompt else None
        self.write(f"{person.name}: {said}")
        outcome = await answer(
            self.deps,
            Answer(
                answer_id=f"demo-{next(self.ids)}",
                actor=email,
                action=action,
                checkin_id=row.id if row else None,
                **fields,
            ),
        )
        outcome = await settled(outcome)  # nothing to ack here: the write-back runs now
        await self.channel.replace(person, row.message_ref if row else None, outcome)
        await deliver(self.deps, self.channel)
        return outcome


def bound_to(chart: OrgChart, kinds: Mapping[str, str]) -> OrgChart:
    """The chart with each key result read by `kinds[its kind]` instead, its options kept; one
    whose metric that kind does not read is kept by hand."""
    krs = tuple(replace(kr, source=rebound(kr.source, kinds)) for kr in chart.key_results)
    return replace(chart, key_results=krs)


def rebound(source: SourceBinding, kinds: Mapping[str, str]) -> SourceBinding:
    kind = kinds.get(source.kind, source.kind)
    model = registry.binding_model(kind)
    if kind != source.kind and source.metric and model is not None:
        try:
            model.model_validate({"metric": source.metric})
        except ValidationError:
            return SourceBinding()
    return replace(source, kind=kind)


async def run_demo(
    url: str,
    write: Callable[[str], None] = print,
    configured: Mapping[str, CrmSource | TrackerSource] | None = None,
    *,
    crm: str = "salesforce",
    tracker: str = "jira",
) -> int:
    """Play the week reading the `crm` and `tracker` kinds: sample data stands in for each
    unless a `configured` source of that kind is given."""
    await upgrade(url)
    store = open_store(url, "acme")
    try:
        chart = bound_to(load_file(SAMPLE_ORG).chart, {"salesforce": crm, "jira": tracker})
        report = await store.directory.import_chart(chart)
        clock = FixedClock(datetime(2026, 11, 16, 8, 0, tzinfo=ZoneInfo("UTC")))
        kinds = registry.kinds()
        sample_crm, sample_tracker = SampleCrm(SAMPLE_DATA), SampleTracker(SAMPLE_DATA)
        sample_crm.name, sample_tracker.name = kinds[crm].title, kinds[tracker].title
        sample: dict[str, CrmSource | TrackerSource] = {crm: sample_crm, tracker: sample_tracker}
        deps = build_deps(store, clock, registry.of(sample | dict(configured or {})))
        demo = Demo(deps, clock, ConsoleChannel(write, clock), write)
        write(
            f"goalnudge demo — {chart.organisation.name}, a working week and the Thursday after "
            f"(database: {url})"
        )
        write(
            f"Imported {SAMPLE_ORG.name}: {len(chart.people)} people, {len(chart.teams)} teams, "
            f"{len(chart.objectives)} objectives, {len(chart.key_results)} key results "
            f"({len(report.created)} records created)."
        )
        await week(demo)
        await next_thursday(demo)
        write("")
        write("Done: every number above was read back from the database.")
        return 0
    finally:
        await store.close()


async def week(d: Demo) -> None:
    d.at("2026-11-16 16:30", "America/New_York")
    await d.tick()
    await d.reply("alice@acme.example", ActionId.CONFIRM, "[1] Yes, update")
    d.at("2026-11-16 16:30", "America/Chicago")
    await d.tick()
    await d.reply(
        "bob@acme.example",
        ActionId.ADJUST,
        "[2] Adjust… → 250000, “Globex signed at $40k after the discount; the CRM fix is pending”",
        values={"value:arr-bob": "250000"},
        note="Globex signed at $40k after the discount; the CRM fix is pending",
    )
    d.at("2026-11-17 16:30", "America/Chicago")
    await d.tick()
    if await d.asked("alice@acme.example"):  # two demos held today
        await d.reply("alice@acme.example", ActionId.CONFIRM, "[1] Yes, update")
    d.at("2026-11-18 11:20", "Europe/London")
    message = (
        "Blocked: the fraud model needs production data access and security hasn't approved it yet"
    )
    link = "https://acme.slack.com/archives/C0PLATFORM/p1763464800000100"
    d.write(f"Farid Haddad in #platform: “{message}”")
    await d.reply(
        "farid@acme.example",
        ActionId.FLAG_RISK,
        "⋯ → Flag as blocker (on that message), key result “Launch the fraud scoring "
        "API”, confidence 55",
        prompt=False,
        kr="fraud-api",
        note=message,
        link=link,
        confidence="55",
    )
    d.at("2026-11-19 10:00", "Europe/Berlin")
    await d.tick()
    await d.reply(
        "erin@acme.example",
        ActionId.FLAG_RISK,
        "[1] Flag at risk… → “Waiting on the acquirer's sandbox certificates since "
        "Nov 10”, confidence 40",
        note="Waiting on the acquirer's sandbox certificates since Nov 10",
        confidence="40",
    )
    d.at("2026-11-19 10:00", "Europe/London")
    await d.tick(sync=False)
    d.at("2026-11-19 10:15", "Europe/London")
    await d.reply("farid@acme.example", ActionId.STILL_BLOCKED, "[1] Still blocked")
    d.at("2026-11-19 14:00", "Europe/Berlin")
    d.write("   (Grace has not answered)")
    await d.tick(sync=False)
    d.at("2026-11-19 16:30", "America/New_York")
    await d.tick()
    await d.reply("alice@acme.example", ActionId.CONFIRM, "[1] Yes, update")
    d.at("2026-11-20 10:00", "Europe/Berlin")
    await d.tick(sync=False)
    d.at("2026-11-20 16:30", "America/Chicago")
    await d.tick()
    if await d.asked("bob@acme.example"):  # a deal won in 44 days: his sales cycle shortens
        await d.reply(
            "bob@acme.example",
            ActionId.ADJUST,
            "[2] Adjust… → ARR $280,000, “Fourth Coffee is in; Globex is "
            "still $12k too high in the CRM”",
            values={"value:cycle-bob": "78.5", "value:arr-bob": "280000"},  # the form as filled in
            note="Fourth Coffee is in; Globex is still $12k too high in the CRM",
        )
    d.at("2026-11-23 09:00", "America/New_York")
    for team in ("Sales East", "Platform"):
        composed = await digest.compose(d.deps, team)
        await d.channel.post_digest(composed)
        await d.deps.digests.record_posted(team, d.clock.now())
    leader = await d.deps.directory.person("lena@acme.example")
    assert leader is not None
    await d.channel.post_rollup(leader, await digest.rollup(d.deps))


async def next_thursday(d: Demo) -> None:
    """The engineers' next check-ins: Erin is asked about her blocker; Farid, who said last
    week his is still there, is asked instead where the level he keeps stands."""
    d.at("2026-11-26 10:00", "Europe/London")
    await d.tick()
    await d.reply(
        "farid@acme.example",
        ActionId.ADJUST,
        "[1] Adjust… → 99.993, “one failover drill on Tuesday”",
        values={"value:uptime": "99.993"},
        note="one failover drill on Tuesday",
    )

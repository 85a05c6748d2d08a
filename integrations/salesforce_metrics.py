"""Salesforce metrics: their org-file options, what each figure is, and the SOQL that reads it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.core.model import Measure
from integrations import crm_metrics

Metric = Literal[
    "closed_won_amount",
    "closed_won_count",
    "opportunities_created",
    "meetings_held",
    "win_rate",
    "sales_cycle_days",
    "custom",
]
# custom: any aggregate SOQL, cited as "new numbers"
MEASURES: dict[str, Measure] = {**crm_metrics.MEASURES, "custom": Measure()}
LEVELS = crm_metrics.LEVELS


def soql_date(value: date) -> str:
    return value.isoformat()


def soql_datetime(value: date) -> str:
    """The start of `value` in UTC: a dateTime field compares only with dateTime literals."""
    return f"{value.isoformat()}T00:00:00Z"


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def filters(options: dict[str, str]) -> str:
    found = []
    if options.get("opportunity_type"):
        found.append(f"Type = {quote(options['opportunity_type'])}")
    if options.get("record_type"):
        found.append(f"RecordType.DeveloperName = {quote(options['record_type'])}")
    if options.get("currency"):
        found.append(f"CurrencyIsoCode = {quote(options['currency'])}")
    return "".join(f" AND {f}" for f in found)


def closed(start: date, end: date, options: dict[str, str]) -> str:
    return f"CloseDate >= {soql_date(start)} AND CloseDate <= {soql_date(end)}{filters(options)}"


def created(field: str, start: date, end: date) -> str:
    """A dateTime `field` on a day from `start` to `end` (UTC days)."""
    after = soql_datetime(end + timedelta(days=1))
    return f"{field} >= {soql_datetime(start)} AND {field} < {after}"


@dataclass(frozen=True)
class Activities:
    """One aggregate over Event or Task: the activities of a configured type done in a period."""

    source: str
    where: str


def activities(start: date, end: date, options: dict[str, str]) -> list[Activities]:
    """Events held (the owner's own, not invitees' copies) and tasks completed, by type."""
    found = []
    if options.get("event_type"):
        found.append(Activities("Event", (
            f"Type = {quote(options['event_type'])} AND IsChild = false AND "
            f"ActivityDate >= {soql_date(start)} AND ActivityDate <= {soql_date(end)}"
        )))  # fmt: skip
        # `end` is the sync's day: an event later in the period is planned, not held yet.
    if options.get("task_type"):
        found.append(Activities("Task", (
            f"Type = {quote(options['task_type'])} AND IsClosed = true AND "
            f"{created('CompletedDateTime', start, end)}"
        )))  # fmt: skip
    return found


class Reader(Protocol):
    async def query_all(self, soql: str) -> list[dict[str, Any]]: ...

    async def grouped(
        self, select: str, source: str, where: str, by: str = ""
    ) -> dict[str, list[dict[str, Any]]]: ...


async def read(
    crm: Reader, metric: str, start: date, end: date, options: dict[str, str]
) -> dict[str, float]:
    """The metric per owner id, one aggregate query per 2,000 owners (see README)."""
    won = f"IsWon = true AND {closed(start, end, options)}"
    if metric in ("closed_won_amount", "closed_won_count"):
        select = "SUM(Amount) value" if metric == "closed_won_amount" else "COUNT(Id) value"
        return sums(await crm.grouped(select, "Opportunity", won))
    if metric == "opportunities_created":
        where = created("CreatedDate", start, end) + filters(options)
        return sums(await crm.grouped("COUNT(Id) value", "Opportunity", where))
    if metric == "meetings_held":
        found: dict[str, float] = defaultdict(float)
        for activity in activities(start, end, options):
            for owner, n in sums(
                await crm.grouped("COUNT(Id) value", activity.source, activity.where)
            ).items():
                found[owner] += n
        return found
    if metric == "win_rate":
        where = f"IsClosed = true AND {closed(start, end, options)}"
        rows = await crm.grouped("COUNT(Id) value", "Opportunity", where, by="IsWon")
        return {owner: win_rate(groups) for owner, groups in rows.items()}
    if metric == "sales_cycle_days":
        return await sales_cycle(crm, won)
    soql = options["soql"].replace("{start}", soql_date(start)).replace("{end}", soql_date(end))
    return {str(r["OwnerId"]): float(r.get("value") or 0) for r in await crm.query_all(soql)}


async def sales_cycle(crm: Reader, won: str) -> dict[str, float]:
    """Average days from created to closed-won, from the won deals themselves: SOQL's AVG
    takes a number field, and no SOQL expression subtracts one date from another."""
    days: dict[str, list[int]] = defaultdict(list)
    for r in await crm.query_all(
        f"SELECT OwnerId, CreatedDate, CloseDate FROM Opportunity WHERE {won}"
    ):
        opened = datetime.fromisoformat(str(r["CreatedDate"]).replace("Z", "+00:00")).date()
        days[str(r["OwnerId"])].append((date.fromisoformat(r["CloseDate"]) - opened).days)
    return {owner: crm_metrics.average_days(d) for owner, d in days.items()}


def sums(rows: dict[str, list[dict[str, Any]]]) -> dict[str, float]:
    return {
        owner: sum(float(r.get("value") or 0) for r in groups) for owner, groups in rows.items()
    }


def win_rate(groups: list[dict[str, Any]]) -> float:
    """Won ÷ closed, in percent to a tenth, from an owner's groups by IsWon."""
    won = sum(float(r["value"]) for r in groups if r.get("IsWon") is True)
    return round(100 * won / sum(float(r["value"]) for r in groups), 1)


class Binding(BaseModel):
    """A key result's options in the org file: `source: {salesforce: {metric: …, …}}`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    FORMS: ClassVar[tuple[str, ...]] = ("{salesforce: {metric: METRIC, …}}",)

    metric: Metric
    opportunity_type: str | None = None
    record_type: str | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    event_type: str | None = None
    task_type: str | None = None
    soql: str | None = None

    @model_validator(mode="after")
    def complete(self) -> Binding:
        if self.metric == "meetings_held" and not (self.event_type or self.task_type):
            raise ValueError(
                "meetings_held needs event_type and/or task_type (the activity Type counted, "
                "e.g. Demo)"
            )
        if self.metric == "custom" and not (
            self.soql and "GROUP BY OwnerId" in self.soql and " value" in self.soql
        ):
            raise ValueError(
                "custom needs soql: an aggregate selecting `OwnerId` and a `value` alias, "
                "with `GROUP BY OwnerId` ({start} and {end} are replaced by the period)"
            )
        return self

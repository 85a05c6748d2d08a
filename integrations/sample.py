"""File-backed CRM and tracker sources, so the demo and a fresh install have real numbers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.core.errors import IntegrationError
from bot.core.model import CrmFigure, Deal, EpicFacts, Person
from integrations.crm_metrics import MEASURES, average_days

BUNDLED = Path(__file__).resolve().parent.parent / "bot" / "data" / "sample-data.yaml"
METRICS = ("closed_won_amount", "closed_won_count", "meetings_held", "sales_cycle_days")


def read(path: str | Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise IntegrationError("sample data", f"cannot read {path}: {exc}") from exc
    return data or {}


class SampleCrm:
    """Won deals and meetings held from a file, per owner like one GROUP BY OwnerId query; each
    figure is what the same metric is in Salesforce (integrations/crm_metrics.py)."""

    def __init__(self, path: str | Path = BUNDLED) -> None:
        section = read(path).get("crm", {})
        self.name: str = section.get("name", "Salesforce")
        self.url: str = section.get("url", "")
        self.deals: list[dict[str, Any]] = section.get("deals", [])
        self.meetings: list[dict[str, Any]] = section.get("meetings", [])
        self.calls = 0
        self.usage: tuple[int, int] | None = None

    async def figures(
        self,
        metric: str,
        start: date,
        end: date,
        people: Sequence[Person],
        options: dict[str, str] | None = None,
    ) -> list[CrmFigure]:
        """Each person's figure; for a level (an average) only where there is one."""
        self.calls += 1
        if metric not in METRICS:
            raise IntegrationError(
                self.name, f"unknown metric {metric!r}: the sample data reads {', '.join(METRICS)}"
            )
        options = options or {}
        types = {options.get("event_type"), options.get("task_type")} - {None}
        result = []
        for person in sorted({p.email for p in people}):
            won = [d for d in self.deals if d["owner"] == person and start <= d["closed_on"] <= end]
            if metric == "sales_cycle_days":
                if not won:
                    continue
                value = average_days((d["closed_on"] - d["created_on"]).days for d in won)
            elif metric == "meetings_held":  # `end` is today: a meeting later is not held yet
                value = sum(
                    1
                    for m in self.meetings
                    if m["owner"] == person and m["type"] in types
                    and start <= m["held_on"] <= end
                )  # fmt: skip
            else:
                value = sum(d["amount"] for d in won) if metric == "closed_won_amount" else len(won)
            deals = tuple(map(self.deal, won)) if metric in METRICS[:2] else ()
            result.append(CrmFigure(person, metric, float(value), deals, MEASURES[metric]))
        return result

    def deal(self, row: dict[str, Any]) -> Deal:
        link = f"{self.url}/lightning/r/Opportunity/{row['id']}/view" if row.get("id") else None
        return Deal(row["name"], float(row["amount"]), row["closed_on"], link)


class SampleTracker:
    """Epics from a file, as one JQL search would return them."""

    def __init__(self, path: str | Path = BUNDLED) -> None:
        section = read(path).get("tracker", {})
        self.name: str = section.get("name", "Jira")
        self.url: str = section.get("url", "")
        self.rows: list[dict[str, Any]] = section.get("epics", [])
        self.calls = 0
        self.flagged: set[str] = {str(r["key"]) for r in self.rows if r.get("flagged")}

    async def account(self, email: str) -> str | None:
        return None

    async def query(self, text: str) -> EpicFacts:
        raise IntegrationError(self.name, "the sample tracker cannot run JQL; bind an epic")

    async def flag(self, key: str, note: str, who: str) -> None:
        self.flagged.add(key)

    async def unflag(self, key: str) -> None:
        self.flagged.discard(key)

    async def epics(self, keys: Sequence[str]) -> list[EpicFacts]:
        self.calls += 1
        found = []
        for row in self.rows:
            if row["key"] in keys:
                updated = row.get("updated")
                found.append(
                    EpicFacts(
                        key=row["key"],
                        title=row["title"],
                        status=row["status"],
                        blocked=row["status"] in ("Blocked", "On Hold"),
                        done=bool(row.get("done")),
                        due=row.get("due"),
                        open_issues=int(row["open_issues"]),
                        total_issues=int(row["total_issues"]),
                        flagged=row["key"] in self.flagged,
                        updated=datetime.fromisoformat(updated) if updated else None,
                        link=f"{self.url}/browse/{row['key']}" if self.url else None,
                    )
                )
        return found

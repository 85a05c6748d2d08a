"""A check-in's facts to and from its JSON column: the one place that knows that column's shape."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from bot.core.model import Deal, KrKind, Reads
from bot.core.planned import (
    Body,
    CrmShowed,
    NoticeText,
    PromptFacts,
    Shown,
    StillBlocked,
    TrackerShowed,
    Unreached,
    WeeklyCheck,
)
from bot.core.prompts import ActionId, PromptItem
from bot.core.rich import Rich
from bot.core.sync import epic_details, epic_from_details

# The shape of a check-in's JSON; migration 0012 brought older rows to it. Fields added since
# (seen_at, stale, connected, "blocked") have defaults: rows written before them read as before.
VERSION = 2


def to_json(body: Body | None) -> dict[str, Any]:
    """A check-in's facts as its JSON column holds them: typed facts, no words of a prompt."""
    if body is None:
        return {}
    if isinstance(body, NoticeText):
        return {"v": VERSION, "notice": body.text.dump()}
    return {
        "v": VERSION,
        "items": [asdict(i) for i in body.items],
        "actions": [a.value for a in body.actions],
        "shown": _shown_json(body.shown),
    }


def from_json(data: dict[str, Any] | None) -> Body | None:
    """What `to_json` wrote; ValueError for a shape this version does not know."""
    if not data:
        return None
    if data.get("v") != VERSION:
        raise ValueError(f"check-in facts of version {data.get('v')!r}: run `goalnudge db upgrade`")
    if "notice" in data:
        return NoticeText(Rich.load(data["notice"]))
    return PromptFacts(
        tuple(PromptItem(**i) for i in data["items"]),
        tuple(ActionId(a) for a in data["actions"]),
        _shown(data["shown"]),
    )


KINDS: dict[str, type[Shown]] = {  # what a source showed, by the tag stored for it
    "unreached": Unreached,
    "crm": CrmShowed,
    "tracker": TrackerShowed,
    "weekly": WeeklyCheck,
    "blocked": StillBlocked,
}
TAGS = {kind: tag for tag, kind in KINDS.items()}


def _shown_json(shown: Shown | None) -> dict[str, Any] | None:
    if shown is None:
        return None
    fields = asdict(shown)
    if isinstance(shown, CrmShowed | TrackerShowed):
        fields["seen_at"] = shown.seen_at.isoformat() if shown.seen_at else None
    if isinstance(shown, StillBlocked):
        fields["flagged_on"] = shown.flagged_on.isoformat()
    elif isinstance(shown, CrmShowed):
        fields["since"] = shown.since.isoformat() if shown.since else None
        fields["deals"] = [d | {"closed_on": d["closed_on"].isoformat()} for d in fields["deals"]]
        fields["period"] = [d.isoformat() for d in shown.period] if shown.period else None
    elif isinstance(shown, TrackerShowed):
        fields |= {"epic": epic_details(shown.epic), "on": shown.on.isoformat()}
    return {"kind": TAGS[type(shown)]} | fields


def _shown(data: dict[str, Any] | None) -> Shown | None:
    if data is None:
        return None
    fields = {k: v for k, v in data.items() if k != "kind"}
    kind = KINDS.get(data["kind"])
    if kind is None:
        raise ValueError(f"check-in facts of an unknown kind {data['kind']!r}")
    if fields.get("seen_at"):
        fields["seen_at"] = datetime.fromisoformat(fields["seen_at"])
    if kind is StillBlocked:
        fields["flagged_on"] = date.fromisoformat(fields["flagged_on"])
    elif kind is CrmShowed:
        fields["since"] = date.fromisoformat(fields["since"]) if fields["since"] else None
        fields["deals"] = tuple(
            Deal(**(d | {"closed_on": date.fromisoformat(d["closed_on"])})) for d in fields["deals"]
        )
        # Rows written before a figure said what it reads lack these: deals, as they were.
        fields["reads"] = Reads(fields.get("reads", Reads.DEALS))
        period = fields.get("period")
        fields["period"] = tuple(map(date.fromisoformat, period)) if period else None
    elif kind is WeeklyCheck:  # rows written before other kinds were checked: milestones
        fields["kr_kind"] = KrKind(fields.get("kr_kind", KrKind.MILESTONE))
    elif kind is TrackerShowed:
        fields["epic"] = epic_from_details(fields["epic"])
        fields["on"] = date.fromisoformat(fields["on"])
        fields["signals"] = tuple(fields["signals"])
    return kind(**fields)

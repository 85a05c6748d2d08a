"""check-in facts: a prompt keeps what its source showed, not its words; answered_with a column

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08

Rows planned before kept their words (headline, question, links) beside their items. The
upgrade reads the facts back out of those words, as the playbooks of that time wrote them, so
an unsent prompt is sent with today's wording; one it cannot read is expired, never sent
wordless. The downgrade keeps what an answer needs (items, actions, answered_with, a notice's
text); a prompt planned after the upgrade goes back without words.
"""

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSION = 2
OPEN = ("planned", "sending", "unconfirmed", "sent", "reminded")
CURRENCIES = "$€£¥"
MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
DEAL = re.compile(r"^(.*) — (\D?)(-?[\d,.]+), closed (\d{4}-\d\d-\d\d)$")
CLOSED = re.compile(r"^(.+?) shows you closed (\d+) deals? since (.+) \((\D?)(-?[\d,.]+)\)\.$")
REASONS = {
    "past_due": re.compile(r"is past its due date \((.+?)\) with (\d+) of (\d+) issues open"),
    "due_soon": re.compile(
        r"is due (?:today|in (\d+) days?) \((.+?)\) with \d+% of its issues open "
        r"\((\d+) of (\d+) issues open\)"
    ),
    "flagged": re.compile(r"is flagged as an impediment"),
    "blocked": re.compile(r"is in status (.+)"),
    "stale": re.compile(r"has not been updated for (\d+) days"),
}

checkins = sa.table(
    "checkins",
    sa.column("id", sa.Integer),
    sa.column("org_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("state", sa.String),
    sa.column("payload", sa.JSON),
    sa.column("created_at", sa.DateTime),
    sa.column("closed_at", sa.DateTime),
    sa.column("answered_with", sa.String),
)
key_results = sa.table(
    "key_results",
    sa.column("org_id", sa.Integer),
    sa.column("key", sa.String),
    sa.column("start", sa.Float),
)


def upgrade() -> None:
    with op.batch_alter_table("checkins") as batch:
        batch.add_column(sa.Column("answered_with", sa.String(20), nullable=True))
    bind = op.get_bind()
    starts = {(o, k): s for o, k, s in bind.execute(sa.select(key_results))}
    now = datetime.now(UTC).replace(tzinfo=None)
    for row in bind.execute(sa.select(checkins)).all():
        old = dict(row.payload or {})
        if not old or old.get("v") == VERSION:
            continue
        changes: dict[str, Any] = {"answered_with": old.get("answered_with")}
        if row.kind == "notice":
            changes["payload"] = {"v": VERSION, "notice": old.get("text", "")}
        else:
            try:
                shown = _shown(row.kind, old, row.created_at.date())
            except (ValueError, KeyError, IndexError, TypeError):
                shown = None
            if shown is None and row.state in OPEN:
                changes |= {"state": "expired", "closed_at": now}
            items = [
                {**i, "start": float(starts.get((row.org_id, i["kr"])) or 0.0)}
                for i in old.get("items", [])
            ]
            actions = list(old.get("actions", []))
            changes["payload"] = {"v": VERSION, "items": items, "actions": actions, "shown": shown}
        bind.execute(checkins.update().where(checkins.c.id == row.id).values(**changes))


def downgrade() -> None:
    bind = op.get_bind()
    for row in bind.execute(sa.select(checkins)).all():
        new = dict(row.payload or {})
        if new.get("v") != VERSION:
            continue
        if "notice" in new:
            old: dict[str, Any] = {"text": new["notice"]}
        else:
            items = [{k: v for k, v in i.items() if k != "start"} for i in new.get("items", [])]
            old = {"items": items, "actions": new.get("actions", [])}
        if row.answered_with:
            old["answered_with"] = row.answered_with
        bind.execute(checkins.update().where(checkins.c.id == row.id).values(payload=old))
    with op.batch_alter_table("checkins") as batch:
        batch.drop_column("answered_with")


def _plain(text: object) -> str:
    """Stored rich text as its words (a list of [style, text, url?] spans, or a string)."""
    return "".join(str(s[1]) for s in text) if isinstance(text, list) else str(text or "")


def _spans(text: object) -> list[str]:
    return [str(s[1]) for s in text] if isinstance(text, list) else [str(text or "")]


def _day(text: str, near: date, *, after: bool = False) -> date:
    """A "Fri 13 Nov" day (no year), in the year that puts it nearest before (or after) `near`."""
    _, number, month = text.split()
    years = (near.year, near.year + 1) if after else (near.year, near.year - 1)
    for year in years:
        found = date(year, MONTHS[month], int(number))
        if (found >= near) if after else (found <= near):
            return found
    return date(near.year, MONTHS[month], int(number))


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _shown(kind: str, old: dict[str, Any], on: date) -> dict[str, Any] | None:
    headline = _plain(old.get("headline"))
    if kind == "confidence_check":
        said = re.search(r"\(you said (\d+)%\)\?$", headline)
        return {"kind": "weekly", "confidence": int(said.group(1)) if said else None}
    if kind == "crm_confirm":
        return _crm(old, headline, on)
    if kind == "risk_explain":
        return _tracker(old, on)
    return None


def _crm(old: dict[str, Any], headline: str, on: date) -> dict[str, Any] | None:
    if old.get("fallback"):
        unreached = re.match(r"^I couldn't reach (.+) just now\.$", headline)
        return {"kind": "unreached", "source": unreached.group(1)} if unreached else None
    shown: dict[str, Any] = {"kind": "crm", "since": None, "count": 0, "total": 0.0}
    quiet = re.match(r"^(.+?) shows new numbers since your last update\.$", headline)
    if quiet:
        return shown | {"source": quiet.group(1), "currency": "$", "deals": []}
    closed = CLOSED.match(headline)
    if closed is None:
        return None
    source, count, when, currency, total = closed.groups()
    since = None if when == "your last update" else _day(when, on).isoformat()
    deals = []
    for label, url in old.get("links", []):
        deal = DEAL.match(label)
        if deal is None:
            return None
        name, _, value, closed_on = deal.groups()
        deals.append({"name": name, "amount": _number(value), "closed_on": closed_on})
        deals[-1]["link"] = url or None
    currency = currency if currency and currency in CURRENCIES else "$"
    return shown | {
        "source": source,
        "since": since,
        "count": int(count),
        "total": _number(total),
        "currency": currency,
        "deals": deals,
    }


def _tracker(old: dict[str, Any], on: date) -> dict[str, Any] | None:
    spans = _spans(old.get("headline"))
    if len(spans) != 3:
        return None
    lead, title, rest = spans
    epic: dict[str, Any] = {"key": "", "title": title, "status": "", "done": False, "due": None}
    epic |= {"open_issues": 0, "total_issues": 0, "flagged": False, "updated": None}
    epic |= {"link": None, "blocked": False}
    by_query = lead.endswith(" shows the work for ")
    if by_query:
        source = lead.removesuffix(" shows the work for ")
        status = re.match(r"^ \((.*?)\) (.*)\.$", rest)
        if status is None:
            return None
        epic["status"], reasons = status.groups()
    else:
        named = re.match(r"^(.+) shows epic (\S+) $", lead)
        if named is None or not rest.endswith("."):
            return None
        source, epic["key"] = named.groups()
        reasons = rest[1:-1]
    codes = list(old.get("signals", []))
    texts = reasons.split("; it ")
    if len(texts) != len(codes):
        return None
    for code, text in zip(codes, texts, strict=True):
        if not _reason(code, text, epic, on):
            return None
    for key, url in old.get("links", []):
        epic["key"], epic["link"] = epic["key"] or key, url
    return {
        "kind": "tracker",
        "source": source,
        "epic": epic,
        "on": on.isoformat(),
        "signals": codes,
        "by_query": by_query,
    }


def _reason(code: str, text: str, epic: dict[str, Any], on: date) -> bool:
    """Put what `text` (signal `code`) says into `epic`; False when it says something else."""
    found = REASONS[code].fullmatch(text) if code in REASONS else None
    if found is None:
        return False
    if code == "past_due":
        due, epic["open_issues"], epic["total_issues"] = found.groups()
        epic["due"] = _day(due, on).isoformat()
    elif code == "due_soon":
        days, due, epic["open_issues"], epic["total_issues"] = found.groups()
        epic["due"] = (on + timedelta(days=int(days or 0))).isoformat()
    elif code == "flagged":
        epic["flagged"] = True
    elif code == "blocked":
        epic["status"], epic["blocked"] = found.group(1), True
    elif code == "stale":
        updated = datetime(on.year, on.month, on.day, 12, tzinfo=UTC)
        epic["updated"] = (updated - timedelta(days=int(found.group(1)))).isoformat()
    for key in ("open_issues", "total_issues"):
        epic[key] = int(epic[key])
    return True

"""Generated sales reps, each with a sent CRM confirmation, and their signed clicks on it: the
crowd bench/ack.py and the inbox's serve-level tests fire at a real server."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import slack_requests as sr

from bot.core.model import (
    CheckIn,
    CheckInKind,
    CheckInState,
    Identities,
    KeyResult,
    Objective,
    Organisation,
    OrgChart,
    Person,
    Role,
    SourceBinding,
)
from bot.core.planned import CrmShowed, PromptFacts
from bot.core.prompts import ActionId, PromptItem
from storage import open_store

PERIOD = "2026-11-16"
TARGET = 1_000_000.0
CRM = SourceBinding("salesforce", metric="closed_won_amount")
TITLE = "Close $1M (Rep {})"
ACTIONS = (ActionId.CONFIRM, ActionId.ADJUST, ActionId.NOT_NOW)
Request = tuple[str, dict[str, str]]


def email(i: int) -> str:
    return f"rep{i}@reps.example"


def user(i: int) -> str:
    return f"U{i:05d}"


def proposed(i: int) -> float:
    return 1000.0 + i


def message(i: int) -> tuple[str, str]:
    """Where rep i's prompt is (channel, ts): what the click carries and chat.update targets."""
    return f"D{user(i)}", f"1700000000.{i:06d}"


def chart(slug: str, n: int) -> OrgChart:
    people = [
        Person(email(i), f"Rep {i}", Role.SALES, ids=Identities.of(slack=user(i))) for i in range(n)
    ]
    objective = Objective("arr", "Grow new ARR", date(2026, 10, 1), date(2026, 12, 31))
    krs = [
        KeyResult(f"arr-{i}", "arr", TITLE.format(i), email(i), unit="$", target=TARGET, source=CRM)
        for i in range(n)
    ]
    return OrgChart(Organisation(slug, "Bench"), tuple(people), (), (objective,), tuple(krs))


def checkin(i: int, now: datetime) -> CheckIn:
    item = PromptItem(f"arr-{i}", TITLE.format(i), "$", 0.0, TARGET, proposed(i))
    shown = CrmShowed("Salesforce", None, 1, proposed(i))
    body = PromptFacts((item,), ACTIONS, shown)
    return CheckIn(email(i), CheckInKind.CRM_CONFIRM, PERIOD, CheckInState.SENT, now, body)


async def seed(url: str, slug: str, n: int) -> list[int]:
    """The organisation, and one sent CRM confirmation per rep; returns the check-in ids."""
    store = open_store(url, slug)
    try:
        await store.directory.import_chart(chart(slug, n))
        now, ids = datetime.now(UTC), []
        for i in range(n):
            row = await store.outbox.add(checkin(i, now))
            if row is None or row.id is None:
                raise RuntimeError(f"could not add the check-in for {email(i)}")
            ids.append(row.id)
        return ids
    finally:
        await store.close()


def hook(i: int) -> str:
    """The path of rep i's click's response_url at the fake (where its outcome is shown)."""
    return f"actions/T1/{i}/x"


def click(i: int, checkin_id: int, hooks: str, secret: str) -> Request:
    channel, ts = message(i)
    value = json.dumps({"c": checkin_id})
    return sr.block_actions(
        user(i), "gn:confirm", value, secret=secret, channel=channel, message_ts=ts,
        action_ts=f"1700000100.{i:06d}", response_url=f"{hooks}/{hook(i)}",
    )  # fmt: skip

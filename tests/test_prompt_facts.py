"""A planned prompt keeps facts, not words: its words are written when it is sent, so today's
wording reaches every unsent prompt, those planned before the upgrade to facts included."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.app import build_deps
from bot.channels.console import ConsoleChannel
from bot.core import sync
from bot.core.checkins import plan, prompt_for
from bot.core.delivery import deliver
from bot.core.deps import Deps, FixedClock
from bot.core.model import CheckInKind, CheckInState
from bot.core.planned import CrmShowed, Shown
from bot.core.prompts import ActionId, PromptItem
from bot.core.rich import rich
from bot.core.wording import Words, words
from bot.demo import SAMPLE_DATA, SAMPLE_ORG
from bot.orgfile import load_file
from integrations import registry
from integrations.sample import SampleCrm, SampleTracker
from storage import open_store, upgrade
from storage.db import make_engine

PLANNED_AT = datetime(2026, 11, 16, 8, 0)
CHECKINS = sa.table(
    "checkins",
    *(sa.column(c, sa.String) for c in ("person", "kind", "slot", "period", "state")),
    sa.column("org_id", sa.Integer),
    sa.column("payload", sa.JSON),
    sa.column("created_at", sa.DateTime),
)


async def raw_payloads(url: str) -> dict[str, dict[str, Any]]:
    """Each check-in's JSON column as stored, by person and state."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(sa.text("SELECT person, state, payload FROM checkins"))
            found: dict[str, dict[str, Any]] = {}
            for person, state, payload in rows:
                found[f"{person} {state}"] = (
                    json.loads(payload) if isinstance(payload, str) else payload
                )
            return found
    finally:
        await engine.dispose()


def words_of(payload: dict[str, Any]) -> str:
    """Everything a stored JSON value spells out."""
    return json.dumps(payload, ensure_ascii=False)


async def test_a_planned_prompt_stores_facts_and_its_words_are_written_when_sent(
    deps: Deps, db_url: str
) -> None:
    await sync.sync_all(deps)
    planned = (await plan(deps, force=True)).planned
    by_person = {row.person: row for row in planned}
    alice = prompt_for(by_person["alice@acme.example"])
    erin = prompt_for(by_person["erin@acme.example"])
    assert str(alice.headline).startswith("Salesforce shows you closed ")
    assert str(erin.headline).startswith("Jira shows epic PAY-12 Payment Gateway v2 is past its")
    assert str(erin.question) == (
        "Flag Ship Payment Gateway v2 as at risk and add a blocker note for your manager?"
    )

    stored = await raw_payloads(db_url)
    for row in planned:
        said = prompt_for(row)
        raw = stored[f"{row.person} planned"]
        assert raw["v"] == 2 and not {"headline", "question", "facts", "links"} & set(raw)
        assert str(said.headline) not in words_of(raw) and str(said.question) not in words_of(raw)
        assert " shows " not in words_of(raw) and "Flag " not in words_of(raw)

    def reworded(shown: Shown | None, items: tuple[PromptItem, ...]) -> Words:
        """Another wording, written from the same facts."""
        if isinstance(shown, CrmShowed):
            return Words(rich(f"New in {shown.source}: {shown.count} deals"), rich("OK?"))
        return words(shown, items)

    again = prompt_for(by_person["alice@acme.example"], render=reworded)
    assert str(again.headline) == "New in Salesforce: 2 deals" and str(again.question) == "OK?"
    assert again.actions == alice.actions and again.items == alice.items


def old(headline: Any, question: Any, items: list[dict[str, Any]], **rest: Any) -> dict[str, Any]:
    """A prompt's payload as goalnudge stored it before migration 0012: its words beside it."""
    return {"headline": headline, "facts": [], "question": question, "items": items, **rest}


def item(kr: str, title: str, current: float, target: float, **rest: Any) -> dict[str, Any]:
    unit = rest.pop("unit", "")
    return (
        {"kr": kr, "title": title, "unit": unit, "current": current, "target": target}
        | {"proposed": None}
        | rest
    )


ARR_ALICE = item("arr-alice", "Close $600k in New ARR (Alice)", 300_000, 720_000, unit="$")
FLAG = ["flag_risk", "on_track", "snooze"]
BEFORE = {  # person: (kind, state, period, payload), as the playbooks of 0011 wrote them
    "erin": ("risk_explain", "planned", "2026-11-16", old(
        [["plain", "Jira shows epic PAY-12 "], ["strong", "Payment Gateway v2"],
         ["plain", " is past its due date (Fri 13 Nov) with 6 of 15 issues open; it is flagged "
                   "as an impediment."]],
        [["plain", "Flag "], ["strong", "Ship Payment Gateway v2"],
         ["plain", " as at risk and add a blocker note for your manager?"]],
        [item("pay-gw", "Ship Payment Gateway v2", 60, 100, unit="%")],
        signals=["past_due", "flagged"], actions=FLAG,
        links=[["PAY-12", "https://acme.atlassian.net/browse/PAY-12"]])),
    "grace": ("risk_explain", "sent", "2026-11-16", old(
        [["plain", "Jira shows the work for "], ["strong", "Release mobile SDK 3.0"],
         ["plain", " (In Progress) is due in 4 days (Fri 20 Nov) with 80% of its issues open "
                   "(12 of 15 issues open); it has not been updated for 20 days."]],
        "Flag it?", [item("mobile-sdk", "Release mobile SDK 3.0", 50, 100, unit="%")],
        signals=["due_soon", "stale"], actions=FLAG, links=[])),
    "alice": ("crm_confirm", "planned", "2026-11-16", old(
        "Salesforce shows you closed 2 deals since Thu 12 Nov ($84,000).",
        [["plain", "Update "], ["strong", "Close $600k in New ARR (Alice)"],
         ["plain", " → $384,000 (53%)?"]],
        [ARR_ALICE | {"proposed": 384_000}], actions=["confirm", "adjust", "not_now"],
        links=[["Northwind — $48,000, closed 2026-11-16", "https://crm/Northwind"],
               ["Initech — $36,000, closed 2026-11-13", ""]])),
    "bob": ("crm_confirm", "planned", "2026-11-16", old(
        "I couldn't reach Salesforce just now.",
        [["plain", "Where does "], ["strong", "Close $500k in New ARR (Bob)"],
         ["plain", " stand? (last value $210,000)"]],
        [item("arr-bob", "Close $500k in New ARR (Bob)", 210_000, 600_000, unit="$")],
        actions=["adjust", "not_now"], fallback=True)),
    "farid": ("confidence_check", "planned", "2026-11-16", old(
        [["plain", "Weekly check: how confident are you in "],
         ["strong", "Launch the fraud scoring API"], ["plain", " (you said 75%)?"]],
        "Still on track?", [item("fraud-api", "Launch the fraud scoring API", 80, 100)],
        actions=["on_track", "flag_risk", "snooze"])),
    "maya": ("notice", "planned", "blocker:ev-1", {"text": [
        ["plain", "🚩 Erin Walsh flagged "], ["strong", "Ship Payment Gateway v2"],
        ["plain", " at risk.\nBlocker: "], ["said", "waiting on *legal*"]]}),
    "sam": ("crm_confirm", "planned", "2026-11-16", old(
        "Salesforce has a brand new sentence.", "Update?", [ARR_ALICE], actions=["adjust"])),
}  # fmt: skip
EARLIER = ("crm_confirm", "answered", "2026-11-09", old(
    "Salesforce shows new numbers since your last update.", "Update?",
    [ARR_ALICE | {"proposed": 300_000}], actions=["confirm", "adjust", "not_now"],
    answered_with="confirm"))  # fmt: skip


async def test_prompts_planned_before_the_upgrade_are_sent_after_it_in_todays_words(
    db_url: str, clock: FixedClock
) -> None:
    await upgrade(db_url, "0011")
    engine = make_engine(db_url)
    async with engine.begin() as connection:
        await connection.execute(
            sa.text("INSERT INTO organisations VALUES (1, 'acme', 'Acme', 'UTC')")
        )
        rows = [(f"{name}@acme.example", *row) for name, row in BEFORE.items()]
        rows.append(("alice@acme.example", *EARLIER))
        await connection.execute(
            sa.insert(CHECKINS),
            [
                {"org_id": 1, "person": person, "kind": kind, "state": state, "period": period,
                 "slot": kind if kind == "notice" else "prompt", "payload": payload,
                 "created_at": PLANNED_AT}
                for person, kind, state, period, payload in rows
            ],
        )  # fmt: skip
    await engine.dispose()

    await upgrade(db_url)
    stored = await raw_payloads(db_url)
    assert all(
        p["v"] == 2 and not {"headline", "question", "links", "text"} & set(p)
        for p in stored.values()
    )
    store = open_store(db_url, "acme")
    try:
        await store.directory.import_chart(load_file(SAMPLE_ORG).chart)
        sample = {"salesforce": SampleCrm(SAMPLE_DATA), "jira": SampleTracker(SAMPLE_DATA)}
        deps = build_deps(store, clock, registry.of(sample))
        earlier = await store.outbox.latest(
            "alice@acme.example", CheckInKind.CRM_CONFIRM, CheckInState.ANSWERED
        )
        assert earlier is not None and earlier.answered_with is ActionId.CONFIRM
        grace = await store.outbox.open_prompt("grace@acme.example")
        assert grace is not None
        assert str(prompt_for(grace).headline) == (  # its reminder says what it said when sent
            "Jira shows the work for Release mobile SDK 3.0 (In Progress) is due in 4 days "
            "(Fri 20 Nov) with 80% of its issues open (12 of 15 issues open); it has not been "
            "updated for 20 days."
        )
        # words it cannot read back into facts: expired, never sent without words
        expired = CheckInState.EXPIRED
        assert await store.outbox.latest("sam@acme.example", CheckInKind.CRM_CONFIRM, expired)

        transcript: list[str] = []
        delivered = await deliver(deps, ConsoleChannel(transcript.append, clock))
    finally:
        await store.close()
    assert sorted(row.person.split("@")[0] for row in delivered.sent) == [
        "alice", "bob", "erin", "farid", "maya",
    ]  # fmt: skip
    said = "\n".join(transcript)
    for words_now in (
        "Jira shows epic PAY-12 “Payment Gateway v2” is past its due date (Fri 13 Nov) with 6 of "
        "15 issues open; it is flagged as an impediment.",
        "   · PAY-12 <https://acme.atlassian.net/browse/PAY-12>",
        "Flag “Ship Payment Gateway v2” as at risk and add a blocker note for your manager?",
        "Salesforce shows you closed 2 deals since Thu 12 Nov ($84,000).",
        "Update “Close $600k in New ARR (Alice)” → $384,000 (64% of quota $600,000, 53% of "
        "target $720,000)?",
        "   · Northwind — $48,000, closed 2026-11-16 <https://crm/Northwind>",
        "   · Initech — $36,000, closed 2026-11-13\n",
        "I couldn't reach Salesforce just now.",
        "Where does “Close $500k in New ARR (Bob)” stand? (last value $210,000)",
        "Weekly check: how confident are you in “Launch the fraud scoring API” (you said 75%)?",
        "Still on track?",
        "🚩 Erin Walsh flagged “Ship Payment Gateway v2” at risk.\n  │ Blocker: waiting on *legal*",
    ):
        assert words_now in said

"""Pure rules a user notices: risk signals, check-in timing, number formatting, playbooks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from bot.channels.slack.mrkdwn import mrkdwn
from bot.core.cadence import due, next_check_in, next_working_day
from bot.core.model import (
    CheckInKind,
    EpicFacts,
    KeyResult,
    KrKind,
    Person,
    QuietHours,
    Role,
    Snapshot,
    SourceBinding,
)
from bot.core.planned import TrackerShowed, Unreached
from bot.core.playbooks import Plan, engineering, sales
from bot.core.risk import RiskPolicy, signals
from bot.core.sync import epic_details
from bot.core.text import amount, bar, parse_number, percent
from bot.core.wording import Words, words
from bot.demo import SAMPLE_DATA
from integrations import registry
from integrations.sample import SampleCrm

TODAY = date(2026, 11, 16)  # a Monday

KNOWN = registry.of({})  # every kind known, none configured: bindings keep their role


def utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC)


BASE_EPIC = EpicFacts(
    "ENG-7", "Billing v2", "In Progress", False, date(2026, 12, 31), 6, 15,
    updated=utc("2026-11-15T12:00"),
)  # fmt: skip


def epic(**changes: Any) -> EpicFacts:
    return replace(BASE_EPIC, **changes)


def codes(found: list[Any]) -> list[str]:
    return [s.code for s in found]


def rep(timezone: str = "America/New_York", **changes: Any) -> Person:
    return Person("rep@acme.example", "Alice Chen", Role.SALES, timezone, **changes)


def engineer(timezone: str = "Europe/Berlin", **changes: Any) -> Person:
    return Person("eng@acme.example", "Dana Levi", Role.ENGINEERING, timezone, **changes)


# risk.signals


def test_past_due_names_the_date_and_open_issues() -> None:
    found = signals(epic(due=date(2026, 11, 13)), TODAY)
    assert codes(found) == ["past_due"]
    assert found[0].text == "is past its due date (Fri 13 Nov) with 6 of 15 issues open"


def test_due_soon_with_most_issues_open_gives_days_left_and_share() -> None:
    found = signals(epic(due=date(2026, 11, 20), open_issues=12), TODAY)
    assert codes(found) == ["due_soon"]
    assert "is due in 4 days (Fri 20 Nov)" in found[0].text
    assert "80% of its issues open (12 of 15 issues open)" in found[0].text


def test_due_today_reads_as_today() -> None:
    found = signals(epic(due=TODAY, open_issues=12), TODAY)
    assert found[0].text.startswith("is due today (")


def test_halves_round_up_and_money_keeps_its_sign_and_cents() -> None:
    assert (percent(0.125), percent(0.625), bar(0.25)) == ("13%", "63%", "███░░░░░░░")
    assert (amount(-1200, "$"), amount(1234.5, "€")) == ("-$1,200", "€1,234.50")


def test_due_soon_respects_policy_window_and_share() -> None:
    late = epic(due=date(2026, 11, 30), open_issues=12)  # 14 days away
    assert codes(signals(late, TODAY)) == ["due_soon"]
    assert signals(late, TODAY, RiskPolicy(due_soon_days=7)) == []
    assert signals(late, TODAY, RiskPolicy(open_share=0.9)) == []


def test_due_soon_but_mostly_done_is_quiet() -> None:
    assert signals(epic(due=date(2026, 11, 20), open_issues=3), TODAY) == []


def test_flagged_blocked_and_stale_each_fire() -> None:
    assert [s.text for s in signals(epic(flagged=True), TODAY)] == ["is flagged as an impediment"]
    blocked = signals(epic(status="On Hold", blocked=True), TODAY)
    assert [(s.code, s.text) for s in blocked] == [("blocked", "is in status On Hold")]
    assert signals(epic(status="On Hold"), TODAY) == []  # "blocked" is the tracker's to say
    stale = signals(epic(updated=utc("2026-10-27T09:00")), TODAY)
    assert [(s.code, s.text) for s in stale] == [("stale", "has not been updated for 20 days")]
    assert signals(epic(updated=utc("2026-11-03T09:00")), TODAY) == []


def test_done_epic_never_raises_a_signal() -> None:
    finished = epic(
        done=True, due=date(2026, 1, 1), flagged=True, status="Blocked", updated=utc("2025-01-01")
    )
    assert signals(finished, TODAY) == []


def test_several_signals_come_most_serious_first() -> None:
    bad = epic(
        due=date(2026, 11, 1),
        flagged=True,
        status="Blocked",
        blocked=True,
        updated=utc("2026-10-01"),
    )
    assert codes(signals(bad, TODAY)) == ["past_due", "flagged", "blocked", "stale"]


# cadence.due


def test_sales_rep_is_due_at_1630_local_not_a_minute_before() -> None:
    assert due(rep(), utc("2026-11-16T21:29")) is None  # 16:29 EST
    found = due(rep(), utc("2026-11-16T21:30"))
    assert found is not None and found.skip is None
    assert found.local.time() == time(16, 30)
    assert found.period == "2026-11-16"


def test_same_instant_differs_by_timezone() -> None:
    instant = utc("2026-11-16T15:45")
    assert due(rep("Europe/Berlin"), instant) is not None  # 16:45 Mon
    assert due(rep("America/Chicago"), instant) is None  # 09:45 Mon
    tokyo = due(rep("Asia/Tokyo"), instant)  # 00:45 Tue: the Monday check-in is over
    assert tokyo is None
    late = due(rep("Asia/Tokyo"), utc("2026-11-16T07:30"))  # 16:30 Mon in Tokyo
    assert late is not None and late.period == "2026-11-16"


@pytest.mark.parametrize(
    ("timezone", "before", "after"),
    [
        # US clocks go back on Sun 2026-11-01: 16:30 is 20:30 UTC before, 21:30 UTC after.
        ("America/New_York", "2026-10-30T20:30", "2026-11-02T21:30"),
        # Berlin goes back on Sun 2026-10-25: 16:30 is 14:30 UTC before, 15:30 UTC after.
        ("Europe/Berlin", "2026-10-23T14:30", "2026-10-26T15:30"),
    ],
)
def test_check_in_stays_at_local_time_across_dst(timezone: str, before: str, after: str) -> None:
    for stamp in (before, after):
        found = due(rep(timezone), utc(stamp))
        assert found is not None and found.local.time() == time(16, 30)
    old_offset = utc(after).replace(hour=utc(before).hour)  # same UTC clock, now an hour early
    assert due(rep(timezone), old_offset) is None
    one_minute_early = utc(after).replace(minute=29)
    assert due(rep(timezone), one_minute_early) is None


def test_engineering_is_weekly_on_thursday_at_ten_with_iso_week_period() -> None:
    assert due(engineer(), utc("2026-11-19T08:59")) is None  # 09:59 Thu in Berlin
    found = due(engineer(), utc("2026-11-19T09:00"))
    assert found is not None and found.period == "2026-W47" and found.skip is None
    assert due(engineer(), utc("2026-11-18T12:00")) is None  # Wednesday
    assert due(engineer(), utc("2026-11-20T12:00")) is None  # Friday


def test_non_working_day_is_a_skip_with_a_reason() -> None:
    found = due(rep(working_days=(0, 1, 2, 3)), utc("2026-11-20T21:30"))  # Friday 16:30
    assert found is not None and found.period == "2026-11-20"
    assert found.skip == "Fri is not a working day"


def test_snoozed_rep_is_skipped_until_the_snooze_ends() -> None:
    snoozed = rep(snoozed_until=date(2026, 11, 20))
    found = due(snoozed, utc("2026-11-18T21:30"))
    assert found is not None and found.skip is not None
    assert found.skip.startswith("snoozed until Fri") and "Nov" in found.skip
    after = due(snoozed, utc("2026-11-23T21:30"))
    assert after is not None and after.skip is None


def test_quiet_hours_over_midnight_mean_not_due_rather_than_skipped() -> None:
    quiet = rep(quiet_hours=QuietHours(time(16, 0), time(9, 0)))
    assert due(quiet, utc("2026-11-16T21:30")) is None
    assert due(quiet, utc("2026-11-17T04:00")) is None  # 23:00 local
    daytime = rep(quiet_hours=QuietHours(time(12, 0), time(13, 0)))
    assert due(daytime, utc("2026-11-16T21:30")) is not None


def test_force_ignores_the_time_of_day() -> None:
    morning = utc("2026-11-16T13:00")  # 08:00 in New York
    assert due(rep(), morning) is None
    found = due(rep(), morning, force=True)
    assert found is not None and found.skip is None and found.period == "2026-11-16"


def test_managers_and_leaders_are_never_due() -> None:
    for role in (Role.MANAGER, Role.LEADER):
        boss = Person("boss@acme.example", "Pat Boss", role, "America/New_York")
        assert due(boss, utc("2026-11-16T21:30")) is None
        assert due(boss, utc("2026-11-19T15:00"), force=True) is None
        assert next_check_in(boss, TODAY) is None


def test_next_check_in_and_working_day_skip_weekends() -> None:
    friday = date(2026, 11, 20)
    assert next_working_day(rep(), friday) == date(2026, 11, 23)
    assert next_check_in(rep(), friday) == date(2026, 11, 23)
    assert next_check_in(rep(), TODAY) == date(2026, 11, 17)
    assert next_check_in(engineer(), date(2026, 11, 19)) == date(2026, 11, 26)
    assert next_check_in(engineer(working_days=(0, 1, 2, 4)), TODAY) is None


# text


ACCEPTED = {
    "412,000": 412_000,
    "$412000": 412_000,
    " 12 ": 12,
    "40%": 40,
    "12k": 12_000,
    "1.5": 1.5,
}


@pytest.mark.parametrize(("raw", "value"), ACCEPTED.items())
def test_parse_number_accepts_what_people_type(raw: str, value: float) -> None:
    assert parse_number(raw) == value


@pytest.mark.parametrize(
    "raw", ["abc", "", "   ", "nan", "inf", "-inf", "$", "%", "nank", "infk", "1e400k"]
)
def test_parse_number_rejects_nonsense(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_number(raw)


def test_amounts_bars_and_percentages() -> None:
    assert amount(412_000, "$") == "$412,000"
    assert amount(12, "deals") == "12 deals"
    assert amount(40, "%") == "40%"
    assert amount(1.5, "") == "1.5"
    assert bar(0.5) == "█████░░░░░"
    assert bar(1.7) == "█" * 10 and bar(-0.2) == "░" * 10
    assert [percent(s) for s in (0.533, 0.537, 1 / 3, 1.0)] == ["53%", "54%", "33%", "100%"]


# playbooks


def arr_kr(current: float = 300_000) -> KeyResult:
    binding = SourceBinding("salesforce", metric="new_arr")
    return KeyResult(
        "arr-alice", "o1", "Close ARR", rep().email, unit="$", target=720_000,
        current=current, source=binding,
    )  # fmt: skip


def deal(name: str, value: float, closed_on: str) -> dict[str, Any]:
    return {"name": name, "amount": value, "closed_on": closed_on, "link": f"https://crm/{name}"}


DEALS = [
    deal("Acme", 200_000, "2026-10-01"),
    deal("Globex", 100_000, "2026-10-05"),
    deal("Initech", 36_000, "2026-11-10"),
    deal("Northwind", 48_000, "2026-11-16"),
]


def written(plan: Plan | None) -> Words:
    """What a planned prompt says when it is sent."""
    assert plan is not None
    return words(plan.body.shown, plan.body.items)


def reading(value: float) -> dict[str, Snapshot]:
    seen = utc("2026-11-16T20:00")
    return {
        "arr-alice": Snapshot("salesforce", "arr-alice", "new_arr", value, seen, {"deals": DEALS})
    }


def test_sales_proposal_without_history_counts_deals_beyond_current() -> None:
    plan = sales(rep(), [arr_kr()], reading(384_000), {}, None, KNOWN)
    assert plan is not None and plan.kind is CheckInKind.CRM_CONFIRM
    said = written(plan)
    assert str(said.headline) == (
        "Salesforce shows you closed 2 deals since your last update ($84,000)."
    )
    assert mrkdwn(said.question) == "Update *Close ARR* → $384,000 (53% of target $720,000)?"
    assert plan.body.items[0].proposed == 384_000
    assert [label for label, _ in said.links] == [
        "Northwind — $48,000, closed 2026-11-16",
        "Initech — $36,000, closed 2026-11-10",
    ]
    assert list(plan.body.actions) == ["confirm", "adjust", "not_now"]


def test_sales_proposal_since_last_update_counts_later_deals() -> None:
    plan = sales(
        rep(), [arr_kr()], reading(384_000), {"arr-alice": date(2026, 11, 12)}, None, KNOWN
    )
    assert plan is not None
    assert (
        str(written(plan).headline)
        == "Salesforce shows you closed 1 deal since Thu 12 Nov ($48,000)."
    )
    assert written(plan).links == (
        ("Northwind — $48,000, closed 2026-11-16", "https://crm/Northwind"),
    )


def test_sales_unchanged_or_acknowledged_reading_is_not_asked_about() -> None:
    assert sales(rep(), [arr_kr(384_000)], reading(384_000), {}, None, KNOWN) is None
    assert sales(rep(), [arr_kr()], reading(384_000), {}, {"arr-alice": 384_000}, KNOWN) is None
    assert sales(rep(), [arr_kr()], reading(400_000), {}, {"arr-alice": 384_000}, KNOWN) is not None


def test_sales_missing_reading_falls_back_to_asking() -> None:
    crm = registry.of({"salesforce": SampleCrm(SAMPLE_DATA)})
    plan = sales(rep(), [arr_kr()], {}, {}, None, crm)
    assert plan is not None and isinstance(plan.body.shown, Unreached)
    assert str(written(plan).headline) == "I couldn't reach Salesforce just now."
    assert mrkdwn(written(plan).question) == "Where does *Close ARR* stand? (last value $300,000)"
    assert list(plan.body.actions) == ["adjust", "not_now"]
    unconnected = sales(rep(), [arr_kr()], {}, {}, None, KNOWN)  # no CRM configured at all
    assert unconnected is not None and unconnected.body.actions == plan.body.actions
    assert str(written(unconnected).headline) == (
        "Salesforce isn't connected, so I can't read your numbers from it."
    )


def milestone() -> KeyResult:
    return KeyResult(
        "ship-billing", "o2", "Ship Billing v2", engineer().email, kind=KrKind.MILESTONE,
        confidence=70, source=SourceBinding("jira", epic="ENG-7"),
    )  # fmt: skip


def epic_reading(facts: EpicFacts) -> dict[str, Snapshot]:
    seen = utc("2026-11-19T09:00")
    snap = Snapshot("jira", "ship-billing", "epic", facts.open_issues, seen, epic_details(facts))
    return {"ship-billing": snap}


def test_engineering_past_due_epic_asks_to_explain_risk() -> None:
    late = epic(due=date(2026, 11, 13), link="https://jira/ENG-7")
    plan = engineering(engineer(), [milestone()], epic_reading(late), TODAY, RiskPolicy(), KNOWN)
    assert plan is not None and plan.kind is CheckInKind.RISK_EXPLAIN
    assert mrkdwn(written(plan).headline) == (
        "Jira shows epic ENG-7 *Billing v2* is past its due date (Fri 13 Nov) "
        "with 6 of 15 issues open."
    )
    assert isinstance(plan.body.shown, TrackerShowed)
    assert list(plan.body.shown.signals) == ["past_due"]
    assert written(plan).links == (("ENG-7", "https://jira/ENG-7"),)


def test_engineering_healthy_epic_gets_a_confidence_check() -> None:
    plan = engineering(engineer(), [milestone()], epic_reading(epic()), TODAY, RiskPolicy(), KNOWN)
    assert plan is not None and plan.kind is CheckInKind.CONFIDENCE_CHECK
    assert mrkdwn(written(plan).headline) == (
        "Weekly check: how confident are you in *Ship Billing v2* (you said 70%)?"
    )

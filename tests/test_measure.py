"""Progress, pace and status as a manager reads them, for each kind of key result."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from bot.core.measure import (
    Policy,
    Verdict,
    assess,
    expected,
    pace,
    pace_text,
    value_text,
    workdays,
)
from bot.core.model import KeyResult, KrKind, Status

Q4 = (date(2026, 10, 1), date(2026, 12, 31))  # 66 working days


def arr(current: float, **more: object) -> KeyResult:
    fields: dict[str, object] = {"unit": "$", "target": 720_000.0, "current": current} | more
    return KeyResult("arr", "growth", "Close $600k", "ann@acme.example", **fields)  # type: ignore[arg-type]


def test_working_days_leave_out_weekends() -> None:
    assert workdays(date(2026, 12, 4), date(2026, 12, 8)) == 2  # Fri, (Sat, Sun), Mon
    assert workdays(*Q4) == 65  # Q4 2026 has 66 working days; the end day is not counted


def test_pace_is_linear_over_working_days_and_says_ahead_on_pace_or_behind() -> None:
    # Fri 4 Dec: 47 of the quarter's 66 working days are over (the 4th counted).
    should = expected(arr(0), *Q4, date(2026, 12, 4))
    assert should == pytest.approx(720_000 * 47 / 66)
    behind = pace(arr(400_000), *Q4, date(2026, 12, 4), Policy())
    assert behind is not None and pace_text(behind, "$") == f"behind by ${should - 400_000:,.0f}"
    on = pace(arr(should + 10_000), *Q4, date(2026, 12, 4), Policy())
    assert on is not None and on.verdict is Verdict.ON_PACE
    ahead = pace(arr(700_000), *Q4, date(2026, 12, 4), Policy())
    assert ahead is not None and ahead.verdict is Verdict.AHEAD
    # a weekend adds nothing: Saturday expects what Friday did
    assert expected(arr(0), *Q4, date(2026, 12, 5)) == should


def test_checkpoints_bend_the_expected_line() -> None:
    kr = arr(0, checkpoints=((date(2026, 11, 30), 200_000.0),))
    # slow start agreed: by 30 Nov only $200k is expected, the rest in December
    assert expected(kr, *Q4, date(2026, 11, 30)) == pytest.approx(200_000)
    assert expected(kr, *Q4, date(2026, 12, 31)) == 720_000
    behind = assess(kr, Q4, date(2026, 11, 30), heard_on=date(2026, 11, 30))
    assert behind.status is Status.AT_RISK and behind.reasons == ("behind pace by $200,000",)
    fine = assess(replace(kr, current=195_000), Q4, date(2026, 11, 30), heard_on=date(2026, 11, 30))
    assert fine.status is Status.ON_TRACK and fine.pace and fine.pace.verdict is Verdict.ON_PACE


def test_a_decrease_counts_down_toward_its_target() -> None:
    cycle = KeyResult("cycle", "g", "Cut the sales cycle", "a@x", KrKind.DECREASE, unit="days",
                      start=90, target=75, current=84)  # fmt: skip
    assert cycle.progress == pytest.approx(6 / 15)
    assert value_text(cycle) == "84 days, from 90 days: 40% of target 75 days"
    early = assess(cycle, Q4, date(2026, 10, 30), heard_on=date(2026, 10, 30))
    assert early.pace and early.pace.verdict is Verdict.AHEAD  # 6 days down, about 5 expected
    late = assess(cycle, Q4, date(2026, 12, 30), heard_on=date(2026, 12, 30))
    # 30 Dec, one working day left: about 75.2 expected, 84 is 8.8 days behind
    assert late.status is Status.AT_RISK and late.reasons == ("behind pace by 8.8 days",)


def test_a_level_to_keep_holds_or_is_at_risk_with_no_pace() -> None:
    uptime = KeyResult("uptime", "g", "Keep 99.99% uptime", "a@x", KrKind.KEEP_ABOVE, unit="%",
                       start=99.99, target=99.99, current=99.995)  # fmt: skip
    held = assess(uptime, Q4, date(2026, 12, 4), heard_on=date(2026, 12, 4))
    assert (held.status, held.pace, uptime.progress) == (Status.ON_TRACK, None, 1.0)
    assert value_text(uptime) == "99.995% (keep ≥ 99.99%)"
    broken = assess(
        replace(uptime, current=99.9), Q4, date(2026, 12, 4), heard_on=date(2026, 12, 4)
    )
    assert broken.status is Status.AT_RISK and broken.reasons == ("below 99.99%",)
    deploy = KeyResult("deploy", "g", "Deploys under 15 min", "a@x", KrKind.KEEP_BELOW,
                       unit="min", target=15, current=22)  # fmt: skip
    assert assess(deploy, Q4, date(2026, 12, 4)).reasons == ("above 15 min",)
    assert deploy.progress == 0.0


def test_a_milestone_past_its_due_date_is_overdue_and_low_confidence_is_at_risk() -> None:
    gateway = KeyResult("gw", "g", "Ship the gateway", "e@x", KrKind.MILESTONE, unit="%",
                        due=date(2026, 11, 13), confidence=80)  # fmt: skip
    late = assess(gateway, Q4, date(2026, 12, 4), heard_on=date(2026, 12, 4))
    assert (late.status, late.overdue_days, late.reasons) == (
        Status.AT_RISK, 21, ("overdue by 21 days",),
    )  # fmt: skip
    unsure = assess(replace(gateway, due=date(2027, 1, 15), confidence=60), Q4, date(2026, 12, 4),
                    heard_on=date(2026, 12, 4))  # fmt: skip
    assert unsure.status is Status.AT_RISK
    assert unsure.reasons == ("60% confident (below 70%)",)
    done = assess(replace(gateway, status=Status.DONE), Q4, date(2026, 12, 4))
    assert done.status is Status.DONE and not done.reasons


def test_silence_is_no_recent_update_never_on_track() -> None:
    kr = arr(500_000)
    heard = assess(kr, Q4, date(2026, 12, 4), heard_on=date(2026, 11, 25))
    assert not heard.quiet and not heard.exception
    silent = assess(kr, Q4, date(2026, 12, 4), heard_on=date(2026, 11, 19))
    assert silent.quiet and silent.exception  # 15 days, over the default 14
    ignored = assess(kr, Q4, date(2026, 12, 4), heard_on=date(2026, 12, 1), unanswered=True)
    assert ignored.quiet  # a prompt expired unanswered
    assert assess(kr, Q4, date(2026, 12, 4), heard_on=date(2026, 11, 19),
                  policy=Policy(quiet_days=30)).quiet is False  # fmt: skip


def test_quota_and_target_are_both_shown() -> None:
    kr = arr(445_000, quota=600_000.0)
    assert value_text(kr) == "$445,000 — 74% of quota $600,000, 62% of target $720,000"
    assert value_text(arr(445_000)) == "$445,000 — 62% of target $720,000"
    over = arr(708_000, quota=600_000.0)
    assert value_text(over) == "$708,000 — 118% of quota $600,000, 98% of target $720,000"

"""When people are asked: their own or their team's cadence, and never on a public holiday."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import Conversation

from bot.core import commands
from bot.core.cadence import due
from bot.core.commands import parse
from bot.core.schedule import USAGE, ScheduleChange
from bot.demo import SAMPLE_ORG
from bot.orgfile import load_file


async def test_nobody_is_asked_on_a_public_holiday_and_the_digest_says_why(
    chat: Conversation,
) -> None:
    chat.at("2026-11-26 16:30", "America/New_York")  # Thanksgiving in the US
    await chat.tick()
    said = chat.said()
    assert "Alice Chen: skipped — public holiday (Thanksgiving Day)" in said
    assert "goalnudge → Alice Chen" not in said
    assert "goalnudge → Erin Walsh" in said  # the same Thursday is a working day in Berlin


async def test_a_team_or_a_person_can_move_their_check_in(
    chat: Conversation, tmp_path: Path
) -> None:
    text = SAMPLE_ORG.read_text().replace(
        '    digest_channel: "#platform"',
        '    digest_channel: "#platform"\n    checkin: {days: [tue], at: "11:15"}',
    )
    path = tmp_path / "org.yaml"
    path.write_text(text)
    report = await chat.deps.directory.import_chart(load_file(path).chart)
    assert any("checkin_days" in line for line in report.updated)
    chat.at("2026-11-19 10:00", "Europe/Berlin")  # Thursday: no longer Platform's day
    await chat.tick()
    assert "goalnudge → Erin Walsh" not in chat.said()
    chat.at("2026-11-24 11:14", "Europe/Berlin")
    await chat.tick()
    assert "goalnudge → Erin Walsh" not in chat.said()
    chat.at("2026-11-24 11:15", "Europe/Berlin")
    await chat.tick()
    assert "goalnudge → Erin Walsh (DM, Tue 11:15 CET)" in chat.said()


async def test_after_downtime_what_is_still_due_today_goes_out(chat: Conversation) -> None:
    chat.at("2026-11-16 21:40", "America/New_York")  # down since the morning: 16:30 was missed
    await chat.tick()
    assert "goalnudge → Alice Chen (DM, Mon 21:40 EST)" in chat.said()


async def test_after_downtime_a_day_that_passed_is_not_asked_about_late(
    chat: Conversation,
) -> None:
    chat.at("2026-11-17 09:00", "America/New_York")  # down all Monday
    await chat.tick()
    assert "goalnudge →" not in chat.said()
    chat.at("2026-11-17 16:30", "America/New_York")
    await chat.tick()
    assert chat.said().count("goalnudge → Alice Chen") == 1


async def test_a_person_moves_their_own_check_in_from_chat_and_an_org_import_keeps_it(
    chat: Conversation,
) -> None:
    alice = await chat.deps.directory.person("alice@acme.example")
    assert alice is not None
    shown = await commands.run(chat.deps, alice, "checkin", "c0")
    assert str(shown.text).startswith(
        "Your check-ins: Mon, Tue, Wed, Thu, Fri at 16:30 (America/New_York)"
    )
    moved = await commands.run(chat.deps, alice, "checkin on mon-thu at 17:15", "c1")
    assert (
        str(moved.text) == "Done. Your check-ins: Mon, Tue, Wed, Thu at 17:15 (America/New_York)."
    )
    wrong = await commands.run(chat.deps, alice, "checkin on funday", "c2")
    assert str(wrong.text) == "“funday” is not a day — use mon, tue, wed, thu, fri, sat, sun."
    await chat.deps.directory.import_chart(load_file(SAMPLE_ORG).chart)  # the admin re-imports

    chat.at("2026-11-16 16:30", "America/New_York")
    await chat.tick()
    assert "goalnudge → Alice Chen" not in chat.said()
    chat.at("2026-11-16 17:15", "America/New_York")
    await chat.tick()
    assert "goalnudge → Alice Chen (DM, Mon 17:15 EST)" in chat.said()
    alice = await chat.deps.directory.person("alice@acme.example")
    assert alice is not None
    new_york = ZoneInfo("America/New_York")
    assert due(alice, datetime(2026, 11, 19, 17, 15, tzinfo=new_york)) is not None
    assert due(alice, datetime(2026, 11, 20, 17, 15, tzinfo=new_york)) is None  # not Fridays


@pytest.mark.parametrize(
    ("said", "days", "at"),
    [
        ("checkin at 9:30", None, time(9, 30)),
        ("checkin at 17", None, time(17, 0)),
        ("checkin on tue,thu at 8", (1, 3), time(8, 0)),
        ("checkin on mon wed fri", (0, 2, 4), None),
        ("checkin on weekdays at 16:45", (0, 1, 2, 3, 4), time(16, 45)),
    ],
)
def test_check_in_times_are_read_as_people_type_them(
    said: str, days: tuple[int, ...] | None, at: time | None
) -> None:
    assert parse(said).schedule == ScheduleChange(days, at)


@pytest.mark.parametrize(
    ("said", "error"),
    [
        ("checkin at 25:00", "“25:00” is not a time of day — use HH:MM, e.g. 16:30."),
        ("checkin on fri-mon", "“fri-mon” is not a range of days — e.g. mon-fri."),
        ("checkin tomorrow", USAGE),
    ],
)
def test_a_check_in_time_that_makes_no_sense_is_refused_with_why(said: str, error: str) -> None:
    assert str(parse(said).error) == str(error)

"""Prompts remember a flag and say how old a reading is; on SQLite and PostgreSQL."""

from __future__ import annotations

from itertools import takewhile

from conftest import Conversation, with_sources
from test_prompt_facts import raw_payloads

from bot.app import build_deps
from bot.channels.slack.mrkdwn import mrkdwn
from bot.core.checkins import prompt_for
from bot.core.deps import Deps, FixedClock
from bot.core.model import Status
from bot.core.prompts import ActionId
from bot.demo import SAMPLE_DATA
from integrations import registry
from integrations.sample import SampleTracker
from storage import Store

ERIN = "erin@acme.example"
FARID = "farid@acme.example"
GRACE = "grace@acme.example"
FARIDS_BLOCKER = "Security has not approved prod data"


def prompt_of(said: str, name: str) -> str:
    """What the bot said to `name` in a transcript: its DM line and the lines quoted under it."""
    first, *rest = said[said.rindex(f"goalnudge → {name} (DM") :].splitlines()
    return "\n".join([first, *takewhile(lambda line: line.startswith("  │"), rest)])


async def farid_flags_wednesday_and_is_asked_thursday(chat: Conversation) -> str:
    """Farid flags a blocker from a message on Wednesday; what he is asked on Thursday."""
    chat.at("2026-11-18 11:20", "Europe/London")
    flagged = await chat.reply(
        FARID, ActionId.FLAG_RISK, "Flag as blocker", prompt=False, kr="fraud-api",
        note=FARIDS_BLOCKER,
    )  # fmt: skip
    assert flagged.ok
    chat.said()
    chat.at("2026-11-19 10:00", "Europe/London")
    await chat.tick()
    return prompt_of(chat.said(), "Farid Haddad")


async def test_after_a_flag_the_next_check_in_asks_whether_it_is_still_blocked(
    chat: Conversation,
) -> None:
    farid = await farid_flags_wednesday_and_is_asked_thursday(chat)
    assert "On Wed 18 Nov you flagged “Launch the fraud scoring API” at risk." in farid
    assert f"Still blocked on “{FARIDS_BLOCKER}”?" in farid
    assert "[1] Still blocked   [2] Unblocked   [3] Update the note…" in farid
    assert "It's on track" not in farid and "Still on track?" not in farid

    row = await chat.deps.outbox.open_prompt(FARID)
    assert row is not None
    [_, _, update_note] = prompt_for(row).actions
    note = next(i for i in update_note.inputs if i.name == "note")
    assert note.initial == FARIDS_BLOCKER  # updating the note starts from the one flagged

    outcome = await chat.reply(FARID, ActionId.STILL_BLOCKED, "[1] Still blocked")
    assert mrkdwn(outcome.text) == (
        "🚩 Noted: *Launch the fraud scoring API* is still blocked — I'll ask again when the "
        "tracker shows something new, or in a week."
    )
    [blocker] = await chat.deps.ledger.open_blockers()
    assert blocker.note == FARIDS_BLOCKER
    kr = await chat.deps.directory.key_result("fraud-api")
    assert kr is not None and kr.status is Status.AT_RISK


async def test_unblocked_resolves_the_blocker_and_the_weekly_check_returns(
    chat: Conversation,
) -> None:
    await farid_flags_wednesday_and_is_asked_thursday(chat)
    outcome = await chat.reply(FARID, ActionId.ON_TRACK, "[2] Unblocked")
    assert mrkdwn(outcome.text) == "👍 Noted: *Launch the fraud scoring API* is on track."
    assert await chat.deps.ledger.open_blockers() == []
    chat.at("2026-11-26 10:00", "Europe/London")
    await chat.tick()
    farid = prompt_of(chat.said(), "Farid Haddad")
    assert "Weekly check: how confident are you in “Launch the fraud scoring API”" in farid
    assert "Still blocked" not in farid


async def erin_flags_twice_and_says_still_blocked(chat: Conversation) -> None:
    chat.at("2026-11-19 10:00", "Europe/Berlin")
    await chat.tick()
    assert "[1] Flag at risk…" in prompt_of(chat.said(), "Erin Walsh")
    await chat.reply(ERIN, ActionId.FLAG_RISK, "flag", note="Waiting on certs")
    chat.at("2026-11-24 15:00", "Europe/Berlin")
    await chat.reply(
        ERIN, ActionId.FLAG_RISK, "Flag as blocker", prompt=False, kr="pay-gw",
        note="Certs vendor slipped to December",
    )  # fmt: skip
    chat.said()
    chat.at("2026-11-26 10:00", "Europe/Berlin")
    await chat.tick()
    erin = prompt_of(chat.said(), "Erin Walsh")
    assert "Still blocked on “Certs vendor slipped to December”?" in erin
    assert "Flag at risk…" not in erin and "Flag “Ship Payment Gateway v2”" not in erin
    chat.at("2026-11-26 10:30", "Europe/Berlin")
    assert (await chat.reply(ERIN, ActionId.STILL_BLOCKED, "[1] Still blocked")).ok
    chat.at("2026-11-26 11:00", "Europe/Berlin")
    await chat.tick()  # the hourly sync: what the tracker shows after her answer
    chat.said()


async def test_an_epic_flagged_twice_is_not_offered_again_while_nothing_changes(
    chat: Conversation,
) -> None:
    await erin_flags_twice_and_says_still_blocked(chat)
    chat.at("2026-12-03 10:00", "Europe/Berlin")  # 6 days 23½ hours after "still blocked"
    await chat.tick()
    said = chat.said()
    assert "Erin Walsh: nothing new in the source — no nudge" in said
    assert "goalnudge → Erin Walsh" not in said
    chat.at("2026-12-10 10:00", "Europe/Berlin")  # a week on: asked again, not told to re-flag
    await chat.tick()
    erin = prompt_of(chat.said(), "Erin Walsh")
    assert "Jira shows epic PAY-12 “Payment Gateway v2” is past its due date" in erin
    assert "Still blocked on “Certs vendor slipped to December”?" in erin
    assert "[1] Still blocked   [2] Unblocked   [3] Update the note…" in erin


async def test_an_epic_flagged_twice_comes_back_when_the_tracker_shows_something_new(
    deps: Deps, clock: FixedClock
) -> None:
    tracker = SampleTracker(SAMPLE_DATA)
    chat = Conversation(with_sources(deps, jira=tracker), clock)
    await erin_flags_twice_and_says_still_blocked(chat)
    [pay] = [row for row in tracker.rows if row["key"] == "PAY-12"]
    pay |= {"status": "Blocked", "updated": "2026-12-01T16:00:00+00:00"}
    chat.at("2026-12-03 10:00", "Europe/Berlin")
    await chat.tick()
    erin = prompt_of(chat.said(), "Erin Walsh")
    assert "it is in status Blocked." in erin
    assert "Still blocked on “Certs vendor slipped to December”?" in erin
    assert "Flag at risk…" not in erin and "It's on track" not in erin


async def test_a_reading_from_13_days_ago_is_cited_as_of_the_day_it_was_read(
    chat: Conversation, db_url: str
) -> None:
    chat.at("2026-11-20 09:00", "Europe/Berlin")
    await chat.tick()  # the last sync that worked
    chat.said()
    chat.at("2026-12-03 10:00", "Europe/Berlin")
    await chat.tick(sync=False)  # every sync since failed
    grace = prompt_of(chat.said(), "Grace Kim")
    assert (
        "As of Fri 20 Nov 09:00, Jira shows epic MOB-3 “Mobile SDK 3.0” has not been updated "
        "for 31 days."
    ) in grace  # not "44 days", as if read today
    stored = await raw_payloads(db_url)
    shown = stored[f"{GRACE} sent"]["shown"]
    assert (shown["seen_at"], shown["stale"]) == ("2026-11-20T09:00:00+01:00", True)

    for later in ("2026-12-03 14:00", "2026-12-04 10:00"):  # one reminder, then they expire
        chat.at(later, "Europe/Berlin")
        await chat.tick(sync=False)
    chat.said()
    chat.at("2026-12-10 10:00", "Europe/Berlin")
    await chat.tick()  # read just now: no "as of"
    erin = prompt_of(chat.said(), "Erin Walsh")
    assert erin.count("Jira shows epic PAY-12") == 1 and "As of" not in erin


async def test_with_no_tracker_or_crm_configured_no_stored_reading_is_cited(
    store: Store, deps: Deps, clock: FixedClock
) -> None:
    chat = Conversation(deps, clock)
    chat.at("2026-11-25 10:00", "America/New_York")
    await chat.tick()  # readings stored while the sources were configured; nobody due yet
    assert "goalnudge →" not in chat.said()
    unconfigured = Conversation(build_deps(store, clock, registry.of({})), clock)
    unconfigured.at("2026-11-25 16:30", "America/New_York")
    await unconfigured.tick()
    alice = prompt_of(unconfigured.said(), "Alice Chen")
    assert "Salesforce isn't connected, so I can't read your numbers from it." in alice
    assert "Where does “Close $600k in New ARR (Alice)” stand? (last value $300,000)" in alice
    assert "[1] Adjust…   [2] Not now" in alice
    unconfigured.at("2026-11-26 10:00", "Europe/Berlin")
    await unconfigured.tick()
    said = unconfigured.said()
    assert "goalnudge → Erin Walsh" in said and "goalnudge → Grace Kim" in said
    assert " shows " not in said and "As of" not in said
    assert "Weekly check: how confident are you in “Release mobile SDK 3.0”" in said

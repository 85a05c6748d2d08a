"""`goalnudge chat` holds a conversation: each field checked as it is typed and only it asked
again; help, cancel, an empty line and Ctrl-D at every step; plain phrasings understood."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from test_cli import goalnudge

from bot.channels.console import ConsoleChannel
from bot.chat import Chat
from bot.core.checkins import plan
from bot.core.delivery import deliver
from bot.core.deps import Deps
from bot.core.model import CheckInKind, CheckInState
from bot.demo import SAMPLE_ORG
from bot.orgfile import load_file

ERIN = "erin@acme.example"
ALICE = "alice@acme.example"
EOF = None  # Ctrl-D
CANCELLED = "Cancelled — nothing changed."
CONFIDENCE = "Confidence it lands on time (0–100, or skip): "
NOTE = "Blocker note for your manager: "


async def talk(deps: Deps, email: str, *typed: str | None) -> list[str]:
    """The conversation, turn by turn: each question with what was typed (^D for Ctrl-D), and
    what goalnudge said; without the greeting."""
    person = await deps.directory.person(email)
    assert person is not None
    lines: list[str] = []
    script: Iterator[str | None] = iter(typed)

    def read(question: str) -> str | None:
        answer = next(script, EOF)
        lines.append(question + ("^D" if answer is None else answer))
        return answer

    await Chat(
        deps, person, read, lambda line: lines.append(line.removeprefix("goalnudge: "))
    ).run()
    return lines[1:]


async def nothing_flagged(deps: Deps) -> None:
    assert await deps.ledger.history("pay-gw") == []
    kr = await deps.directory.key_result("pay-gw")
    assert kr is not None and kr.confidence == 80
    planned = await deps.outbox.in_state(CheckInState.PLANNED)
    assert [row for row in planned if row.kind is CheckInKind.NOTICE] == []  # Maya told nothing


async def test_a_flag_asks_each_field_in_turn_and_again_only_the_one_that_was_wrong(
    deps: Deps,
) -> None:
    assert await talk(deps, ERIN, "flag pay-gw", "abc", "150", "help", "40", "help", "Certs") == [
        "> flag pay-gw",
        CONFIDENCE + "abc",
        "Confidence “abc” must be a number from 0 to 100.",
        CONFIDENCE + "150",
        "Confidence must be between 0 and 100.",
        CONFIDENCE + "help",
        "How sure you are, from 0 to 100, that “Ship Payment Gateway v2” lands on time. "
        "`skip` leaves it out. `cancel` (or an empty line) stops: nothing changes.",
        CONFIDENCE + "40",
        NOTE + "help",  # help is never the note
        "A few words for your manager on what is in the way. "
        "`cancel` (or an empty line) stops: nothing changes.",
        NOTE + "Certs",
        "🚩 Flagged “Ship Payment Gateway v2” at risk — your manager has been told.",
        "> ^D",
        "Bye!",
    ]
    [flag] = await deps.ledger.history("pay-gw")
    assert (flag.confidence, flag.note) == (40, "Certs")


async def test_a_flag_with_its_note_asks_only_the_confidence_and_skip_leaves_it_out(
    deps: Deps,
) -> None:
    said = await talk(deps, ERIN, "flag pay-gw Waiting on certs", "skip")
    assert said[:3] == [
        "> flag pay-gw Waiting on certs",
        CONFIDENCE + "skip",
        "🚩 Flagged “Ship Payment Gateway v2” at risk — your manager has been told.",
    ]
    [flag] = await deps.ledger.history("pay-gw")
    assert (flag.confidence, flag.note) == (None, "Waiting on certs")


@pytest.mark.parametrize("stop", [EOF, "", "   ", "cancel", "stop", "STOP"])
async def test_ctrl_d_an_empty_line_cancel_or_stop_at_any_step_changes_nothing(
    deps: Deps, stop: str | None
) -> None:
    shown = "^D" if stop is None else stop
    at_confidence = await talk(deps, ERIN, "flag pay-gw Waiting on certs", stop, "quit")
    assert at_confidence == [
        "> flag pay-gw Waiting on certs",
        CONFIDENCE + shown,
        CANCELLED,
        "> quit",  # a terminal reads on after Ctrl-D at a question
        "Bye!",
    ]
    at_note = await talk(deps, ERIN, "flag pay-gw", "40", stop, "quit")
    assert at_note[2:4] == [NOTE + shown, CANCELLED]
    at_value = await talk(deps, ALICE, "update arr-alice", stop, "quit")
    assert at_value[1:3] == ["New value for “Close $600k in New ARR (Alice)”: " + shown, CANCELLED]
    await nothing_flagged(deps)
    assert await deps.ledger.history("arr-alice") == []


def test_ctrl_d_at_the_flags_confidence_in_the_terminal_commits_nothing(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"}
    assert goalnudge("org", "import", str(SAMPLE_ORG), cwd=tmp_path, **env).returncode == 0
    chat = goalnudge(
        "chat", "--as", ERIN, cwd=tmp_path, stdin="flag pay-gw Waiting on certs\n", **env
    )
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.splitlines()[1:] == [
        f"> {CONFIDENCE}goalnudge: {CANCELLED}",
        "> goalnudge: Bye!",
    ]
    maya = goalnudge("chat", "--as", "maya@acme.example", cwd=tmp_path, stdin="goals\n", **env)
    assert "flagged" not in maya.stdout  # no notice waits for the manager


async def test_an_unknown_key_result_is_named_at_once_with_the_persons_own_ids(
    deps: Deps,
) -> None:
    assert await talk(deps, ERIN, "flag nope blah", "update nope 5", "update my nope to 5") == [
        "> flag nope blah",  # nothing asked first
        "There is no key result 'nope'. Yours: `pay-gw` (Ship Payment Gateway v2).",
        "> update nope 5",
        "There is no key result 'nope'. Yours: `pay-gw` (Ship Payment Gateway v2).",
        "> update my nope to 5",
        "There is no key result 'nope'. Yours: `pay-gw` (Ship Payment Gateway v2).",
        "> ^D",
        "Bye!",
    ]
    await nothing_flagged(deps)


async def test_update_in_plain_words_and_a_bad_value_asks_the_value_again(deps: Deps) -> None:
    asked = "New value for “Close $600k in New ARR (Alice)”: "
    said = await talk(deps, ALICE, "update my arr to 400k", "update arr-alice lots", "help", "1e99")
    assert said[:7] == [
        "> update my arr to 400k",
        "✅ Updated “Close $600k in New ARR (Alice)”: $400,000 — 67% of quota $600,000, "
        "56% of target $720,000.",
        "> update arr-alice lots",
        "“lots” is not a number — try something like 412000.",
        asked + "help",
        "The value of “Close $600k in New ARR (Alice)” now, e.g. 412000, 400k or 1.5m. "
        "`cancel` (or an empty line) stops: nothing changes.",
        asked + "1e99",
    ]
    assert said[7].startswith("“1e99” is out of range")
    assert said[8:] == [asked + "^D", CANCELLED, "> ^D", "Bye!"]
    [update] = await deps.ledger.history("arr-alice")
    assert update.value == 400_000


async def test_plain_words_are_understood_and_dates_show_a_year_not_this_one(deps: Deps) -> None:
    # Mon 16 Nov 2026, 03:00 in New York
    said = await talk(
        deps,
        ALICE,
        "hi",
        "?",
        "my goals",
        "snooze 3 days",
        "snooze until friday",
        "unsnooze",
        "unsnooze",
        "snooze until 2020-01-01",
        "snooze until 2027-01-05",
    )
    text = "\n".join(said)
    hello, commands = text.split("> ?\n")
    assert hello.startswith("> hi\nHi Alice! Here is what I can do:\nCommands:\n")
    assert commands.startswith("Commands:\n  goals, my goals")
    assert hello.removeprefix("> hi\nHi Alice! Here is what I can do:\n") in commands
    goals = await talk(deps, ALICE, "goals")
    assert said[said.index("> my goals") + 1] == goals[1]
    assert goals[1].startswith("[arr-alice] “Close $600k in New ARR (Alice)”: $300,000")
    after = said[said.index("> snooze 3 days") :]
    assert after == [
        "> snooze 3 days",
        "😴 Snoozed: no check-ins until Thu 19 Nov.",
        "> snooze until friday",
        "😴 Snoozed: no check-ins until Fri 20 Nov.",
        "> unsnooze",
        "⏰ Snooze off: check-ins come as usual again — the next is Tue 17 Nov.",
        "> unsnooze",
        "You're not snoozed: check-ins come as usual — the next is Tue 17 Nov.",
        "> snooze until 2020-01-01",
        "Wed 1 Jan 2020 is in the past — pick a date from today on.",
        "> snooze until 2027-01-05",
        "😴 Snoozed: no check-ins until Tue 5 Jan 2027.",
        "> ^D",
        "Bye!",
    ]
    alice = await deps.directory.person(ALICE)
    assert alice is not None and alice.snoozed_until == date(2027, 1, 5)
    assert (await talk(deps, ALICE, "unsnooze"))[1].startswith("⏰ Snooze off")
    alice = await deps.directory.person(ALICE)
    assert alice is not None and alice.snoozed_until is None


@pytest.fixture
async def two_arr(deps: Deps, tmp_path: Path) -> Deps:
    """The sample organisation with a second key result of Alice's about ARR."""
    org = tmp_path / "org.yaml"
    org.write_text(
        SAMPLE_ORG.read_text().replace(
            "  - id: platform\n",
            "      - {id: renewals-alice, title: Renew $200k of ARR, owner: alice@acme.example,\n"
            '         unit: "$", target: 200000, current: 50000}\n'
            "  - id: platform\n",
        )
    )
    await deps.directory.import_chart(load_file(org).chart)
    return deps


async def test_several_key_results_matching_a_word_are_listed_and_one_more_word_picks(
    two_arr: Deps,
) -> None:
    assert await talk(two_arr, ALICE, "update my arr to 400k", "update my renew arr to 60k") == [
        "> update my arr to 400k",
        "Several of your key results match “arr”: `arr-alice` (Close $600k in New ARR (Alice)), "
        "`renewals-alice` (Renew $200k of ARR).",
        "> update my renew arr to 60k",
        "✅ Updated “Renew $200k of ARR”: $60,000 — 30% of target $200,000.",
        "> ^D",
        "Bye!",
    ]
    assert await two_arr.ledger.history("arr-alice") == []


async def test_a_check_ins_form_checks_each_field_as_typed(deps: Deps) -> None:
    console = ConsoleChannel(lambda _: None, deps.clock)  # type: ignore[arg-type]
    await plan(deps, people=[ALICE], force=True)
    await deliver(deps, console)
    said = await talk(deps, ALICE, "1", "lots", "help", "420k", "x" * 2001, "skip")
    assert "[1] Adjust…   [2] Not now" in said
    asked = said.index("> 1") + 1
    value = "Close $600k in New ARR (Alice) ($) [ok keeps 300,000]: "
    note = "Note (optional) [skip leaves it out]: "
    assert said[asked:] == [
        value + "lots",
        "“lots” is not a number — try something like 412000.",
        value + "help",
        "Close $600k in New ARR (Alice) ($). `ok` keeps 300,000. "
        "`cancel` (or an empty line) stops: nothing changes.",
        value + "420k",
        note + "x" * 2001,
        "Keep the note under 2,000 characters (this one has 2,001).",
        note + "skip",
        "✅ Updated “Close $600k in New ARR (Alice)”: $420,000 — 70% of quota $600,000, "
        "58% of target $720,000.",
        "> ^D",
        "Bye!",
    ]

"""The same plain words in a Slack DM and a Teams chat as in the terminal, and bad input from a
Slack modal or a Teams card (non-numbers, NaN, inf, 1e309, 20 digits, a 100,000-character note)
answered inline, changing nothing; through the real server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import slack_requests as sr
import teams_activities as ta
from slack_harness import SECRET, Slack, slack_app
from test_hygiene import adjust_modal, submit
from test_inbox_slack import replies_in
from test_teams import ALICE, Teams, teams
from test_teams import nudge_alice as nudge_alice_in_teams

from bot.core.deps import Deps

__all__ = ["teams"]  # the Teams fixture, used here as test_teams uses it
DM = {"type": "message", "channel_type": "im", "user": "UALICE", "channel": "DALICE"}
SNOOZED = "😴 Snoozed: no check-ins until Thu 19 Nov."
UNSNOOZED = "⏰ Snooze off: check-ins come as usual again — the next is Tue 17 Nov."
HUGE_NOTE = "blocked " * 12_500  # 100,000 characters
TOO_LONG = "Keep the note under 2,000 characters (this one has 100,000)."
BAD_VALUES = [
    ("about 400k", "“about 400k” is not a number — try something like 412000."),
    ("NaN", "“NaN” is not a finite number — try something like 412000."),
    ("inf", "“inf” is not a finite number — try something like 412000."),
    ("1e309", "“1e309” is not a finite number — try something like 412000."),
    (
        "12345678901234567890",
        "“12345678901234567890” is out of range (at most 1,000,000,000,000,000 either side of 0)"
        " — try something like 412000.",
    ),
]


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[Slack]:
    async with slack_app(tmp_path) as running:
        yield running


async def unchanged(deps: Deps) -> None:
    kr = await deps.directory.key_result("arr-alice")
    assert kr is not None and kr.current == 300_000
    assert await deps.ledger.history("arr-alice") == []


async def test_plain_words_in_a_slack_dm_answer_as_in_the_terminal(slack: Slack) -> None:
    slack.at("2026-11-16 09:00", "America/New_York")
    words = ["goals", "my goals", "help", "?", "hi", "snooze 3 days", "unsnooze"]
    for n, typed in enumerate(words, 1):
        event = sr.event(DM | {"text": typed, "ts": f"1.{n}"}, secret=SECRET, event_id=f"Ev{n}")
        assert (await slack.post(event)).status == 200
        await replies_in(slack, "DALICE", n)  # one at a time, in order
    goals, my_goals, help_, question, hello, snoozed, unsnoozed = await replies_in(
        slack, "DALICE", len(words)
    )
    blocks = [json.dumps(c.params["blocks"]) for c in slack.fake.called("chat.postMessage")]
    assert blocks[1] == blocks[0] and "Close $600k in New ARR (Alice)" in blocks[0]
    assert my_goals == goals == "*Alice's goals*"
    assert question == help_ and "snooze 3 days" in help_ and "unsnooze" in help_
    assert hello.startswith("Hi Alice! Here is what I can do:") and help_ in hello
    assert (snoozed, unsnoozed) == (SNOOZED, UNSNOOZED)
    alice = await slack.app.deps.directory.person("alice@acme.example")
    assert alice is not None and alice.snoozed_until is None


async def test_plain_words_in_a_teams_chat_answer_as_in_slack(teams: Teams) -> None:
    await teams.install(ALICE)
    teams.clock.set(teams.clock.now().replace(year=2026, month=11, day=16, hour=14))
    said: list[str] = []
    for n, typed in enumerate(["help", "?", "hi", "snooze 3 days", "unsnooze"]):
        await teams.post(teams.typed(ALICE, typed, f"m-{n}"))
        said.append(teams.to(ALICE.personal_conversation_id)[-1].body["text"])
    help_, question, hello, snoozed, unsnoozed = said
    assert question == help_ and "**snooze 3 days**" in help_
    assert hello.startswith("Hi Alice! Here is what I can do:") and help_ in hello
    assert (snoozed, unsnoozed) == (SNOOZED, UNSNOOZED)
    goals = []
    for n, typed in enumerate(["goals", "my goals"]):
        await teams.post(teams.typed(ALICE, typed, f"g-{n}"))
        goals.append(teams.to(ALICE.personal_conversation_id)[-1].body["text"])
    assert goals[0] == goals[1] and "**Close $600k in New ARR (Alice)**" in goals[0]


async def test_a_slack_modal_refuses_every_bad_number_and_a_huge_note_inline(slack: Slack) -> None:
    meta = await adjust_modal(slack)
    [opened] = slack.fake.called("views.open")
    [note] = [b for b in opened.params["view"]["blocks"] if b.get("block_id") == "note"]
    assert note["element"]["max_length"] == 2000  # Slack stops typing at the cap
    for raw, error in BAD_VALUES:
        response = await slack.post(submit(meta, raw))
        assert json.loads(await response.text()) == {
            "response_action": "errors",
            "errors": {"value:arr-alice": error},
        }
    response = await slack.post(submit(meta, "400000", HUGE_NOTE))
    assert json.loads(await response.text()) == {
        "response_action": "errors",
        "errors": {"note": TOO_LONG},
    }
    await unchanged(slack.app.deps)
    response = await slack.post(submit(meta, "400000", "x" * 2000))  # the cap itself is kept
    assert response.status == 200 and await response.text() == ""
    [stored] = await slack.app.deps.ledger.history("arr-alice")
    assert stored.note == "x" * 2000


def inputs(card: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(card, dict):
        found += [card] if str(card.get("type", "")).startswith("Input.") else []
        found += [i for v in card.values() for i in inputs(v)]
    elif isinstance(card, list):
        found += [i for v in card for i in inputs(v)]
    return found


async def test_a_teams_card_refuses_every_bad_number_and_a_huge_note_inline(teams: Teams) -> None:
    card = await nudge_alice_in_teams(teams)
    adjust = next(a for a in card["actions"] if a["title"] == "Adjust…")
    [note] = [i for i in inputs(adjust["card"]) if i["id"] == "note"]
    assert note["maxLength"] == 2000
    data = {"verb": "adjust", "c": adjust["card"]["body"][-1]["actions"][0]["data"]["c"]}

    async def submitted(fields: dict[str, str]) -> str:
        status, body = await teams.post(
            ta.card_action(
                ALICE,
                "adjust",
                data | fields,
                service_url=teams.fake.url,
                conversation_id=ALICE.personal_conversation_id,
                reply_to_id="act-1",
            )
        )
        assert status == 200
        return json.dumps(body, ensure_ascii=False)

    for raw, error in BAD_VALUES:
        assert f"⚠️ {error}" in await submitted({"value:arr-alice": raw})
    shown = await submitted({"value:arr-alice": "400000", "note": HUGE_NOTE})
    assert f"⚠️ {TOO_LONG}" in shown
    await unchanged(teams.app.deps)

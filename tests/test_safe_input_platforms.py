"""A second look, undo and history through the real server: signed Slack requests against the
fake Slack, Teams activities as Teams sends them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import slack_requests as sr
import teams_activities as ta
from slack_harness import SECRET, Slack, button_value, nudge_alice, slack_app
from test_teams import ALICE, Teams, texts
from test_teams import nudge_alice as nudge_alice_on_teams
from test_teams import teams as teams

from bot.core.deps import Deps

ARR = "Close $600k in New ARR (Alice)"


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[Slack]:
    async with slack_app(tmp_path) as running:
        yield running


async def value(deps: Deps, key: str = "arr-alice") -> float:
    kr = await deps.directory.key_result(key)
    assert kr is not None
    return kr.current


def typed_value(amount: str) -> dict[str, dict[str, dict[str, str]]]:
    return {"value:arr-alice": {"v": {"type": "plain_text_input", "value": amount}}}


async def test_slack_modal_asks_a_second_look_then_undo_takes_it_back(slack: Slack) -> None:
    nudge = await nudge_alice(slack)
    await slack.post(
        sr.block_actions(
            "UALICE", "gn:adjust", button_value(nudge, "gn:adjust"), secret=SECRET,
            channel="DUALICE",
        )
    )  # fmt: skip
    [opened] = await slack.wait_for("views.open")
    meta = opened.params["view"]["private_metadata"]
    asked = await slack.post(
        sr.view_submission("UALICE", "gn:adjust_modal", typed_value("1e3"), meta, secret=SECRET)
    )
    pushed = json.loads(await asked.text())
    assert pushed["response_action"] == "push"
    view = pushed["view"]
    assert (view["title"]["text"], view["submit"]["text"], view["close"]["text"]) == (
        "Did you mean it?", "Save anyway", "Back",
    )  # fmt: skip
    assert view["blocks"][0]["text"]["text"] == (
        f"🤔 Did you mean it? *{ARR}*: $300,000 → $1,000: you typed a power of ten: 1,000; "
        "it is 100% below the last value ($300,000)."
    )
    assert await value(slack.app.deps) == 300_000  # nothing before the confirmation

    sure = sr.view_submission(
        "UALICE", view["callback_id"], {}, view["private_metadata"], secret=SECRET, view_id="V2"
    )
    saved = await slack.post(sure)
    assert json.loads(await saved.text()) == {"response_action": "clear"}
    [update] = await slack.wait_for("chat.update")
    assert update.params["text"].startswith(f"✅ Updated *{ARR}*: $1,000")
    assert await value(slack.app.deps) == 1_000

    undo = sr.block_actions(
        "UALICE", "gn:undo", button_value(update, "gn:undo"), secret=SECRET, channel="DUALICE",
        action_ts="1700000200.1",
    )  # fmt: skip
    await slack.post(undo)
    [shown] = await slack.wait_for("response_url")
    assert shown.params["text"] == (
        f"↩ Undone: *{ARR}* is back to $300,000 — 50% of quota $600,000, 42% of target $720,000."
    )
    await slack.post(undo)  # Slack's retry of the same click: undone once
    await asyncio.sleep(0.2)
    assert len(slack.fake.called("response_url")) == 1
    assert [u.value for u in await slack.app.deps.ledger.history("arr-alice")] == [1_000, 300_000]

    slack.clock.set(slack.clock.now() + timedelta(hours=25))
    late = sr.block_actions(
        "UALICE", "gn:undo", button_value(update, "gn:undo"), secret=SECRET, channel="DUALICE",
        action_ts="1700000300.1",
    )  # fmt: skip
    await slack.post(late)
    shown = (await slack.wait_for("response_url", 2))[-1]
    assert shown.params["text"] == (
        "⌛ That change is more than 24 hours old: it can no longer be undone."
    )


async def test_slack_typed_undo_and_history(slack: Slack) -> None:
    nudge = await nudge_alice(slack)
    await slack.post(
        sr.block_actions(
            "UALICE", "gn:confirm", button_value(nudge, "gn:confirm"), secret=SECRET,
            channel="DUALICE", action_ts="1700000100.1",
        )
    )  # fmt: skip
    await slack.wait_for("response_url")
    assert await value(slack.app.deps) == 384_000
    undone = await slack.post(sr.slash_command("UALICE", "/goals", "undo", secret=SECRET))
    assert json.loads(await undone.text())["text"].startswith(
        f"↩ Undone: *{ARR}* is back to $300,000"
    )
    listed = await slack.post(
        sr.slash_command("USAM", "/goals", "history arr-alice", secret=SECRET)
    )
    assert json.loads(await listed.text())["text"] == (
        f"History of *{ARR}*:\n"
        f"Mon 16 Nov 21:30 · Alice Chen, confirmed from the CRM · *{ARR}*: $300,000 → $384,000\n"
        f"Mon 16 Nov 21:30 · Alice Chen, undo · *{ARR}*: $384,000 → $300,000"
    )
    refused = await slack.post(
        sr.slash_command("UERIN", "/goals", "history arr-alice", secret=SECRET)
    )
    assert json.loads(await refused.text())["text"] == (
        "That is not yours to see: only its owner, their manager or a leader can."
    )


async def test_teams_card_asks_a_second_look_then_saves_anyway(teams: Teams) -> None:
    card = await nudge_alice_on_teams(teams)
    adjust = next(a for a in card["actions"] if a["title"] == "Adjust…")
    data = {"verb": "adjust", "c": adjust["card"]["body"][-1]["actions"][0]["data"]["c"]}

    def press(verb: str, given: dict[str, object]) -> dict[str, object]:
        return ta.card_action(
            ALICE, verb, given, service_url=teams.fake.url,
            conversation_id=ALICE.personal_conversation_id, reply_to_id="act-1",
        )  # fmt: skip

    _, body = await teams.post(press("adjust", data | {"value:arr-alice": "40%"}))
    shown = body["value"]
    assert (
        f"🤔 Did you mean it? **{ARR}**: $300,000 → $40: you typed a percentage, but it is an "
        "amount in $; it is 100% below the last value ($300,000)."
    ) in texts(shown)
    anyway = shown["actions"][0]
    assert anyway["title"] == "Save anyway" and anyway["data"]["confirmed"] == "yes"
    assert anyway["data"]["value:arr-alice"] == "40%"
    assert await value(teams.app.deps) == 300_000
    edit = next(a for a in shown["actions"] if a["title"] == "Adjust…")  # or edit the value
    assert any(b.get("value") == "40%" for b in edit["card"]["body"])

    _, body = await teams.post(press(anyway["verb"], anyway["data"]))
    assert body["value"]["body"][0]["text"].startswith(f"✅ Updated **{ARR}**: $40")
    assert await value(teams.app.deps) == 40


async def test_teams_typed_undo_and_history(teams: Teams) -> None:
    card = await nudge_alice_on_teams(teams)
    confirm = card["actions"][0]
    await teams.post(
        ta.card_action(
            ALICE, "confirm", confirm["data"], service_url=teams.fake.url,
            conversation_id=ALICE.personal_conversation_id, reply_to_id="act-1",
        )
    )  # fmt: skip
    undo = teams.typed(ALICE, "undo", "u-1")
    await teams.post(undo)
    await teams.post(undo)  # a replayed activity: undone once
    await teams.post(teams.typed(ALICE, "history", "u-2"))
    said = [s.body.get("text", "") for s in teams.to(ALICE.personal_conversation_id)]
    assert said[-2].startswith(f"↩ Undone: **{ARR}** is back to $300,000")
    assert said[-1].startswith("Your updates:\n")
    assert said[-1].count("\n") == 2 and ", undo · " in said[-1]
    assert [u.value for u in await teams.app.deps.ledger.history("arr-alice")] == [384_000, 300_000]

"""Slack end to end: signed requests to the real server, the real slack_sdk against a fake Slack."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import slack_requests as sr
from slack_harness import SECRET, Slack, button_value, nudge_alice, slack_app

from bot.demo import SAMPLE_ORG
from bot.orgfile import load_file
from bot.server import tick


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[Slack]:
    async with slack_app(tmp_path) as running:
        yield running


async def test_nudge_click_stores_the_update_and_replaces_the_message(slack: Slack) -> None:
    nudge = await nudge_alice(slack)
    assert (
        "Salesforce shows you closed 2 deals since your last update ($84,000)."
        in (nudge.params["blocks"][0]["text"]["text"])
    )
    assert nudge.token == "xoxb-test"
    click = sr.block_actions(
        "UALICE",
        "gn:confirm",
        button_value(nudge, "gn:confirm"),
        secret=SECRET,
        channel="DUALICE",
        message_ts="1700000000.000100",
        action_ts="1700000100.1",
    )
    response = await slack.post(click)
    assert response.status == 200
    [update] = await slack.wait_for("response_url")  # the click's own: off the Web API's tiers
    assert update.params["path"] == "actions/T1/1/x" and update.params["replace_original"]
    assert update.params["text"] == (
        "✅ Confirmed *Close $600k in New ARR (Alice)*: $384,000 — 64% of quota $600,000, "
        "53% of target $720,000."
    )
    assert slack.fake.called("chat.update") == []
    kr = await slack.app.deps.directory.key_result("arr-alice")
    assert kr is not None and kr.current == 384_000

    await slack.post(click)  # Slack's retry of the same click
    double = sr.block_actions(
        "UALICE",
        "gn:confirm",
        button_value(nudge, "gn:confirm"),
        secret=SECRET,
        channel="DUALICE",
        action_ts="1700000100.2",
    )
    await slack.post(double)  # a second click on the same button
    await asyncio.sleep(0.2)
    assert len(slack.fake.called("response_url")) == 1
    assert len(await slack.app.deps.ledger.history("arr-alice")) == 1


async def test_forged_or_stale_signatures_get_401_and_change_nothing(slack: Slack) -> None:
    nudge = await nudge_alice(slack)
    value = button_value(nudge, "gn:confirm")
    forged = sr.block_actions("UALICE", "gn:confirm", value, secret="wrong-secret")
    assert (await slack.post(forged)).status == 401
    body, _ = sr.block_actions("UALICE", "gn:confirm", value, secret=SECRET)
    stale = sr.signed(
        body, SECRET, timestamp=int(datetime.now().timestamp()) - 600, content_type=sr.FORM
    )
    assert (await slack.post((body, stale))).status == 401
    await asyncio.sleep(0.1)
    assert slack.fake.called("chat.update") == slack.fake.called("response_url") == []
    kr = await slack.app.deps.directory.key_result("arr-alice")
    assert kr is not None and kr.current == 300_000


async def test_adjust_modal_shows_inline_errors_then_saves(slack: Slack) -> None:
    nudge = await nudge_alice(slack)
    await slack.post(
        sr.block_actions(
            "UALICE",
            "gn:adjust",
            button_value(nudge, "gn:adjust"),
            secret=SECRET,
            channel="DUALICE",
        )
    )
    [opened] = await slack.wait_for("views.open")
    view = opened.params["view"]
    assert view["callback_id"] == "gn:adjust_modal"
    field = next(b for b in view["blocks"] if b.get("block_id") == "value:arr-alice")
    assert field["element"]["initial_value"] == "384000.0"
    meta = view["private_metadata"]
    bad = sr.view_submission(
        "UALICE",
        "gn:adjust_modal",
        {"value:arr-alice": {"v": {"type": "plain_text_input", "value": "-3"}}},
        meta,
        secret=SECRET,
        view_id="V9",
    )
    response = await slack.post(bad)
    assert json.loads(await response.text()) == {
        "response_action": "errors",
        "errors": {"value:arr-alice": "The value can't be negative."},
    }
    good = sr.view_submission(
        "UALICE",
        "gn:adjust_modal",
        {
            "value:arr-alice": {"v": {"type": "plain_text_input", "value": "$400,000"}},
            "note": {"v": {"type": "plain_text_input", "value": "Initech signed early"}},
        },
        meta,
        secret=SECRET,
        view_id="V9",
    )
    assert (await slack.post(good)).status == 200
    [update] = await slack.wait_for("chat.update")
    assert update.params["text"].startswith("✅ Updated *Close $600k in New ARR (Alice)*: $400,000")
    assert update.params["ts"] == nudge_ts(slack)


def nudge_ts(slack: Slack) -> str:
    return str(slack.fake.called("chat.postMessage")[0].params.get("ts") or "1700000000.000100")


async def test_message_shortcut_flags_a_blocker_and_dms_the_manager(slack: Slack) -> None:
    text = "Blocked: security hasn't approved prod data access"
    await slack.post(
        sr.message_action(
            "UFARID",
            "flag_blocker",
            text,
            channel_id="CPLATFORM",
            message_ts="1700000200.000300",
            secret=SECRET,
            message_user="UFARID",
        )
    )
    [opened] = await slack.wait_for("views.open")
    view = opened.params["view"]
    note = next(b for b in view["blocks"] if b.get("block_id") == "note")
    assert note["element"]["initial_value"] == text
    picker = next(b for b in view["blocks"] if b.get("block_id") == "kr")
    options = [o["value"] for o in picker["element"]["options"]]
    assert options == ["fraud-api", "uptime"]  # Farid's own key results
    submit = sr.view_submission(
        "UFARID",
        "gn:flag_modal",
        {
            "kr": {"v": {"type": "static_select", "selected_option": {"value": "fraud-api"}}},
            "note": {"v": {"type": "plain_text_input", "value": text}},
            "confidence": {"v": {"type": "plain_text_input", "value": "55"}},
            "write_back": {"v": {"type": "checkboxes", "selected_options": []}},
        },
        view["private_metadata"],
        secret=SECRET,
        view_id="V7",
    )
    assert (await slack.post(submit)).status == 200
    posts = await slack.wait_for("chat.postMessage", 2)
    to_maya = [c for c in posts if c.params["channel"] == "UMAYA"]
    assert len(to_maya) == 1
    assert (
        "🚩 Farid Haddad flagged *Launch the fraud scoring API* at risk (confidence 55%)."
        in to_maya[0].params["blocks"][0]["text"]["text"]
    )
    assert (
        "https://acme.slack.com/archives/CPLATFORM/p1700000200000300" in to_maya[0].params["text"]
    )
    [blocker] = await slack.app.deps.ledger.open_blockers()
    assert blocker.link == "https://acme.slack.com/archives/CPLATFORM/p1700000200000300"


async def test_goals_command_for_known_unknown_and_manager(slack: Slack) -> None:
    mine = await slack.post(sr.slash_command("UALICE", "/goals", "", secret=SECRET))
    body = json.loads(await mine.text())
    assert "Close $600k in New ARR (Alice)" in json.dumps(body["blocks"])
    stranger = await slack.post(sr.slash_command("UNOBODY", "/goals", "", secret=SECRET))
    assert "I don't know you yet" in await stranger.text()
    digest = await slack.post(sr.slash_command("UMAYA", "/goals", "digest", secret=SECRET))
    blocks = json.loads(await digest.text())["blocks"]
    assert blocks[0]["text"]["text"] == "Platform digest"
    refused = await slack.post(sr.slash_command("UERIN", "/goals", "digest", secret=SECRET))
    assert "Digests are for managers" in await refused.text()
    snoozed = await slack.post(
        sr.slash_command("UERIN", "/goals", "snooze until 2026-12-01", secret=SECRET)
    )
    assert "Snoozed: no check-ins until Tue 1 Dec" in await snoozed.text()
    erin = await slack.app.deps.directory.person("erin@acme.example")
    assert erin is not None and str(erin.snoozed_until) == "2026-12-01"


async def test_digest_is_posted_to_the_channel_and_details_answer_in_a_thread(
    slack: Slack,
) -> None:
    from bot.core import digest

    composed = await digest.compose(slack.app.deps, "Sales East")
    await slack.channel.post_digest(composed)
    [post] = slack.fake.called("chat.postMessage")
    assert post.params["channel"] == "#sales-east"
    shown = json.dumps(post.params["blocks"], ensure_ascii=False)
    assert "*Needs attention*" in shown and shown.index("*Needs attention*") < shown.index(
        "*What changed*"
    )
    assert "*Close $600k in New ARR (Alice)* — Alice Chen · " in shown
    assert "$300,000 — 50% of quota $600,000, 42% of target $720,000" in shown
    await slack.post(
        sr.block_actions(
            "USAM",
            "gn:details",
            "Sales East",
            secret=SECRET,
            channel="CSALES",
            message_ts="1700000300.000100",
        )
    )
    posts = await slack.wait_for("chat.postMessage", 2)
    assert posts[1].params["thread_ts"] == "1700000300.000100"
    assert (
        "*Close $500k in New ARR (Bob)* — Bob Okafor: "
        "$210,000 — 42% of quota $500,000, 35% of target $600,000"
        in posts[1].params["blocks"][0]["text"]["text"]
    )


async def test_app_home_shows_my_goals_once_per_event_even_when_retried(slack: Slack) -> None:
    await slack.post(sr.app_home_opened("UALICE", secret=SECRET, event_id="EvHome"))
    await slack.post(sr.app_home_opened("UALICE", secret=SECRET, event_id="EvHome", retry_num=1))
    [published] = await slack.wait_for("views.publish")
    await asyncio.sleep(0.2)
    assert len(slack.fake.called("views.publish")) == 1
    assert published.params["user_id"] == "UALICE"
    assert "Close $600k in New ARR (Alice)" in json.dumps(published.params["view"])


async def test_url_verification_is_answered(slack: Slack) -> None:
    response = await slack.post(sr.url_verification("abc123", secret=SECRET))
    assert response.status == 200 and "abc123" in await response.text()


async def test_rate_limits_and_errors_never_lose_a_nudge(slack: Slack) -> None:
    slack.fake.rate_limit("chat.postMessage", retry_after=1)
    slack.fake.fail("chat.postMessage", "internal_error", times=1)
    slack.at("2026-11-16 16:30", "America/New_York")
    await tick(slack.app, slack.channel)  # 429 waited out, then an ok:false: kept for later
    sent: list[Any] = [
        c for c in slack.fake.called("chat.postMessage") if c.params["channel"] == "UALICE"
    ]
    assert len(sent) == 2
    await tick(slack.app, slack.channel)
    sent = [c for c in slack.fake.called("chat.postMessage") if c.params["channel"] == "UALICE"]
    assert len(sent) == 3
    row = await slack.app.deps.outbox.open_prompt("alice@acme.example")
    assert (
        row is not None
        and row.state.value == "sent"
        and row.message_ref
        == "slack|DUALICE:" + (sent[-1].params.get("ts", "") or row.message_ref.split(":")[1])
    )


async def test_timezone_comes_from_slack_only_when_the_org_file_gives_none(slack: Slack) -> None:
    slack.fake.users["ULENA"]["tz"] = "Europe/Lisbon"
    slack.fake.users["UBOB"]["tz"] = "Asia/Tokyo"
    for user in ("ULENA", "UBOB"):
        await slack.post(sr.slash_command(user, "/goals", "", secret=SECRET))
    directory = slack.app.deps.directory
    lena, bob = [await directory.person(f"{n}@acme.example") for n in ("lena", "bob")]
    assert lena is not None and (lena.timezone, lena.ids.get("slack")) == ("Europe/Lisbon", "ULENA")
    assert bob is not None and bob.timezone == "America/Chicago"
    report = await directory.import_chart(load_file(SAMPLE_ORG).chart)
    assert not report.changed
    lena = await directory.person("lena@acme.example")
    assert lena is not None and lena.timezone == "Europe/Lisbon"


async def test_each_digest_is_posted_on_monday_morning_once(slack: Slack) -> None:
    def posted() -> list[str]:
        return [
            c.params["channel"]
            for c in slack.fake.called("chat.postMessage")
            if c.params["channel"].startswith("#")
        ]

    slack.at("2026-11-23 08:59", "America/New_York")
    await tick(slack.app, slack.channel)
    assert posted() == ["#platform"]  # 14:59 in Berlin, where Platform's manager is
    slack.at("2026-11-23 09:00", "America/New_York")
    await tick(slack.app, slack.channel)
    await tick(slack.app, slack.channel)
    assert posted() == ["#platform", "#sales-east"]


async def test_a_vacation_status_skips_the_nudge_and_the_digest_says_so(slack: Slack) -> None:
    from bot.core import digest

    slack.fake.users["UALICE"]["profile"] |= {
        "status_text": "On vacation",
        "status_emoji": ":palm_tree:",
    }
    slack.fake.users["UBOB"]["profile"] |= {
        "status_text": "In a meeting",
        "status_emoji": ":calendar:",
    }
    slack.at("2026-11-16 17:30", "America/New_York")
    await tick(slack.app, slack.channel)
    sent_to = [c.params["channel"] for c in slack.fake.called("chat.postMessage")]
    assert "UALICE" not in sent_to and "UBOB" in sent_to
    composed = await digest.compose(slack.app.deps, "Sales East")
    assert composed.skipped == (("Alice Chen", "Slack status says away (:palm_tree: On vacation)"),)


async def test_after_a_flag_slack_asks_still_blocked_and_takes_each_answer(slack: Slack) -> None:
    from bot.core.answers import answer
    from bot.core.prompts import ActionId, Answer

    note = "Security has not approved prod data"
    slack.at("2026-11-18 11:20", "Europe/London")
    flag = Answer("f1", "farid@acme.example", ActionId.FLAG_RISK, kr="fraud-api", note=note)
    assert (await answer(slack.app.deps, flag)).ok
    slack.at("2026-11-19 10:00", "Europe/London")
    await tick(slack.app, slack.channel)
    [nudge] = [c for c in slack.fake.called("chat.postMessage") if c.params["channel"] == "UFARID"]
    shown = json.dumps(nudge.params["blocks"], ensure_ascii=False)
    assert f"Still blocked on “{note}”?" in shown
    buttons = [
        (e["action_id"], e["text"]["text"])
        for b in nudge.params["blocks"]
        for e in b.get("elements", [])
        if e.get("type") == "button"
    ]
    assert buttons == [
        ("gn:still_blocked", "Still blocked"),
        ("gn:on_track", "Unblocked"),
        ("gn:flag_risk", "Update the note…"),
    ]
    await slack.post(
        sr.block_actions(
            "UFARID", "gn:flag_risk", button_value(nudge, "gn:flag_risk"), secret=SECRET,
            channel="DUFARID",
        )
    )  # fmt: skip
    [opened] = await slack.wait_for("views.open")
    view = opened.params["view"]
    assert view["title"]["text"] == "Update the note"
    field = next(b for b in view["blocks"] if b.get("block_id") == "note")
    assert field["element"]["initial_value"] == note
    await slack.post(
        sr.block_actions(
            "UFARID", "gn:still_blocked", button_value(nudge, "gn:still_blocked"), secret=SECRET,
            channel="DUFARID", action_ts="1700000100.7",
        )
    )  # fmt: skip
    [update] = await slack.wait_for("response_url")
    assert update.params["text"] == (
        "🚩 Noted: *Launch the fraud scoring API* is still blocked — I'll ask again when the "
        "tracker shows something new, or in a week."
    )
    [blocker] = await slack.app.deps.ledger.open_blockers()
    assert blocker.note == note

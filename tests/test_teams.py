"""Teams end to end: activities shaped as Teams sends them, real botbuilder, a fake connector."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import teams_activities as ta
from aiohttp.test_utils import TestServer
from conftest import running, sample_database
from fakes.bot_connector import FakeConnector, Sent

from bot.app import App, open_app
from bot.config import Settings
from bot.core.channel import Channel
from bot.core.deps import FixedClock
from bot.core.inbox import Worker
from bot.core.model import CheckInState
from bot.demo import SAMPLE_DATA
from bot.server import build_web_app, post_digest, tick

ALICE = ta.TeamsUser.from_email("alice@acme.example", "Alice Chen")
MAYA = ta.TeamsUser.from_email("maya@acme.example", "Maya Schulz")
FARID = ta.TeamsUser.from_email("farid@acme.example", "Farid Haddad")
PLATFORM = ta.TeamsTeam("19:platform0general@thread.tacv2", "Platform", "group-1")


@dataclass
class Teams:
    fake: FakeConnector
    app: App
    channel: Channel
    clock: FixedClock
    url: str
    http: aiohttp.ClientSession
    worker: Worker | None = None  # the server's inbox worker, where a test needs it

    async def post(self, activity: dict[str, Any], auth: str | None = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"} | ({"Authorization": auth} if auth else {})
        async with self.http.post(self.url, data=json.dumps(activity), headers=headers) as r:
            text = await r.text()
            return r.status, json.loads(text) if text.startswith("{") else text

    def to(self, conversation: str) -> list[Sent]:
        """Everything the bot posted into one conversation (proactive sends arrive as replies)."""
        return [
            s
            for s in self.fake.sent
            if s.status < 300
            and s.op in ("send", "reply")
            and s.conversation_id.startswith(conversation)
        ]

    def typed(self, user: ta.TeamsUser, text: str, activity_id: str) -> dict[str, Any]:
        """`text` typed by `user` in their own chat with the bot."""
        return ta.message(
            user,
            text,
            service_url=self.fake.url,
            conversation_id=user.personal_conversation_id,
            activity_id=activity_id,
        )

    async def install(self, user: ta.TeamsUser) -> None:
        self.fake.add_member(
            user.personal_conversation_id, user.id, user.name, user.email, user.aad_object_id
        )
        status, _ = await self.post(ta.installation_update(user, service_url=self.fake.url))
        assert status in (200, 201)


@pytest.fixture
async def teams(tmp_path: Path) -> AsyncIterator[Teams]:
    url = await sample_database(tmp_path / "teams.db")
    fake = FakeConnector()
    await fake.start()
    settings = Settings(database_url=url, goalnudge_sample_data=SAMPLE_DATA)
    async with running(settings) as on:
        yield Teams(fake, on.app, on.channel, on.clock, f"{on.base}/api/messages", on.http)
    await fake.stop()


def card_of(sent: Sent) -> dict[str, Any]:
    return sent.body["attachments"][0]["content"]


async def nudge_alice(teams: Teams) -> dict[str, Any]:
    await teams.install(ALICE)
    teams.clock.set(datetime(2026, 11, 16, 16, 30, tzinfo=ZoneInfo("America/New_York")))
    await tick(teams.app, teams.channel)
    cards = [
        card_of(s) for s in teams.to(ALICE.personal_conversation_id) if s.body.get("attachments")
    ]
    assert len(cards) == 1
    return cards[0]


def alice_confirms(teams: Teams, confirm: dict[str, Any], card: str) -> dict[str, Any]:
    """Alice presses `Yes, update` (`confirm`, the card's action) on the card whose id is `card`."""
    return ta.card_action(
        ALICE,
        "confirm",
        confirm["data"],
        service_url=teams.fake.url,
        conversation_id=ALICE.personal_conversation_id,
        reply_to_id=card,
    )


async def test_install_links_the_person_and_survives_in_the_database(teams: Teams) -> None:
    await teams.install(ALICE)
    alice = await teams.app.deps.directory.person("alice@acme.example")
    assert alice is not None and alice.ids.get("teams") == ALICE.aad_object_id
    [welcome] = teams.to(ALICE.personal_conversation_id)
    assert welcome.body["text"].startswith("Hi Alice! I'll check in on your goals.")
    stored = await teams.app.store.conversations.get("teams", ALICE.aad_object_id)
    assert stored is not None and stored["conversation"]["id"] == ALICE.personal_conversation_id


async def test_nudge_card_action_stores_the_update_and_replaces_the_card(teams: Teams) -> None:
    card = await nudge_alice(teams)
    assert card["version"] == "1.5"
    assert (
        "Salesforce shows you closed 2 deals since your last update ($84,000)."
        in (card["body"][0]["text"])
    )
    confirm = card["actions"][0]
    assert (confirm["type"], confirm["verb"], confirm["fallback"]["type"]) == (
        "Action.Execute",
        "confirm",
        "Action.Submit",
    )
    action = alice_confirms(teams, confirm, "act-1")
    status, body = await teams.post(action)
    assert status == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    assert body["value"]["body"][0]["text"] == (
        "✅ Confirmed **Close $600k in New ARR (Alice)**: $384,000 — 64% of quota $600,000, "
        "53% of target $720,000."
    )
    kr = await teams.app.deps.directory.key_result("arr-alice")
    assert kr is not None and kr.current == 384_000
    await teams.post(action)  # the same activity replayed
    assert len(await teams.app.deps.ledger.history("arr-alice")) == 1


async def test_inline_adjust_shows_validation_messages_then_saves(teams: Teams) -> None:
    card = await nudge_alice(teams)
    adjust = next(a for a in card["actions"] if a["title"] == "Adjust…")
    inputs = [b for b in adjust["card"]["body"] if b["type"].startswith("Input.")]
    assert [i["id"] for i in inputs] == ["value:arr-alice", "note"]
    data = {"verb": "adjust", "c": adjust["card"]["body"][-1]["actions"][0]["data"]["c"]}
    bad = ta.card_action(
        ALICE,
        "adjust",
        data | {"value:arr-alice": "lots"},
        service_url=teams.fake.url,
        conversation_id=ALICE.personal_conversation_id,
        reply_to_id="act-1",
    )
    status, body = await teams.post(bad)
    assert status == 200 and "“lots” is not a number" in json.dumps(body, ensure_ascii=False)
    kr = await teams.app.deps.directory.key_result("arr-alice")
    assert kr is not None and kr.current == 300_000
    good = ta.card_action(
        ALICE,
        "adjust",
        data | {"value:arr-alice": "401000", "note": "late"},
        service_url=teams.fake.url,
        conversation_id=ALICE.personal_conversation_id,
        reply_to_id="act-1",
    )
    _, body = await teams.post(good)
    assert body["value"]["body"][0]["text"].startswith("✅ Updated **Close $600k in New ARR")
    kr = await teams.app.deps.directory.key_result("arr-alice")
    assert kr is not None and kr.current == 401_000


async def test_submit_fallback_updates_the_card_in_place(teams: Teams) -> None:
    card = await nudge_alice(teams)
    submit = ta.card_submit(
        ALICE,
        card["actions"][0]["fallback"]["data"],
        service_url=teams.fake.url,
        conversation_id=ALICE.personal_conversation_id,
        reply_to_id="act-7",
    )
    assert (await teams.post(submit))[0] in (200, 201)
    [update] = teams.fake.of("update")
    assert update.activity_id == "act-7"
    assert "Confirmed" in update.body["attachments"][0]["content"]["body"][0]["text"]


async def test_message_action_flags_a_blocker_and_the_manager_is_told(teams: Teams) -> None:
    for user in (FARID, MAYA):
        await teams.install(user)
    link = "https://teams.microsoft.com/l/message/19:abc/1700000000"
    fetch = ta.fetch_task(
        FARID,
        "flagBlocker",
        "<p>Security hasn't approved prod data</p>",
        service_url=teams.fake.url,
        conversation_id=PLATFORM.id,
        message_link=link,
        team=PLATFORM,
    )
    status, body = await teams.post(fetch)
    assert status == 200 and body["task"]["type"] == "continue"
    task_card = body["task"]["value"]["card"]["content"]
    note = next(b for b in task_card["body"] if b.get("id") == "note")
    assert note["value"] == "Security hasn't approved prod data"
    submit = ta.submit_action(
        FARID,
        "flagBlocker",
        {"kr": "fraud-api", "note": note["value"], "confidence": "55", "link": link},
        service_url=teams.fake.url,
        conversation_id=PLATFORM.id,
        message_text=note["value"],
        message_link=link,
        team=PLATFORM,
    )
    status, body = await teams.post(submit)
    assert status == 200 and "Flagged" in body["task"]["value"]
    told = [s.body.get("text", "") for s in teams.to(MAYA.personal_conversation_id)]
    assert any(
        "Farid Haddad flagged **Launch the fraud scoring API** at risk (confidence 55%)" in text
        and link in text
        for text in told
    )
    [blocker] = await teams.app.deps.ledger.open_blockers()
    assert blocker.link == link


async def test_digest_starts_a_new_thread_in_the_team_channel(teams: Teams) -> None:
    status, _ = await teams.post(
        ta.conversation_update_members_added(MAYA, service_url=teams.fake.url, team=PLATFORM)
    )
    assert status in (200, 201)
    await post_digest(teams.app.deps, teams.channel, "Platform")
    [post] = teams.to(PLATFORM.id)
    content = json.dumps(card_of(post), ensure_ascii=False)
    assert "📊 Platform digest" in content
    assert "**Needs attention**" in content
    assert (
        "**Ship Payment Gateway v2** — Erin Walsh · at risk: overdue by 3 days; "
        "no recent update (nothing heard this period) · 60%" in content
    )
    assert ";messageid=" not in post.conversation_id  # a new post, not a reply in a thread


async def test_typed_commands_and_replays(teams: Teams) -> None:
    await teams.install(MAYA)
    message = teams.typed(MAYA, "digest", "m-1")
    await teams.post(message)
    await teams.post(message)  # a replayed activity
    replies = [s for s in teams.to(MAYA.personal_conversation_id) if s.body.get("attachments")]
    assert len(replies) == 1 and "Platform digest" in json.dumps(card_of(replies[0]))
    await teams.post(teams.typed(MAYA, "help", "m-2"))
    assert "snooze until YYYY-MM-DD" in teams.to(MAYA.personal_conversation_id)[-1].body["text"]


async def test_a_rate_limited_send_is_retried_and_delivered_once(teams: Teams) -> None:
    await teams.install(ALICE)
    teams.fake.fail("reply", 429, retry_after=1)
    teams.fake.fail("send", 429, retry_after=1)
    teams.clock.set(datetime(2026, 11, 16, 16, 30, tzinfo=ZoneInfo("America/New_York")))
    await tick(teams.app, teams.channel)
    cards = [s for s in teams.to(ALICE.personal_conversation_id) if s.body.get("attachments")]
    assert len(cards) == 1
    row = await teams.app.deps.outbox.open_prompt("alice@acme.example")
    assert row is not None and row.state.value == "sent"


async def test_a_connector_outage_waits_for_the_next_round_but_a_gone_chat_fails_for_good(
    teams: Teams,
) -> None:
    await teams.install(ALICE)
    for op in ("send", "reply"):
        teams.fake.fail(op, 503)
    teams.clock.set(datetime(2026, 11, 16, 16, 30, tzinfo=ZoneInfo("America/New_York")))
    await tick(teams.app, teams.channel)
    row = await teams.app.deps.outbox.open_prompt("alice@acme.example")
    assert row is not None and row.state.value == "planned"  # tried again next round
    teams.clock.set(datetime(2026, 11, 16, 16, 31, tzinfo=ZoneInfo("America/New_York")))
    await tick(teams.app, teams.channel)
    row = await teams.app.deps.outbox.open_prompt("alice@acme.example")
    assert row is not None and row.state.value == "sent"


async def test_a_chat_teams_says_is_gone_fails_for_good_and_is_not_retried(teams: Teams) -> None:
    await teams.install(ALICE)
    for op in ("send", "reply"):
        teams.fake.fail(op, 404)
    teams.clock.set(datetime(2026, 11, 16, 16, 30, tzinfo=ZoneInfo("America/New_York")))
    await tick(teams.app, teams.channel)
    [failed] = await teams.app.deps.outbox.in_state(CheckInState.FAILED)
    assert failed.person == "alice@acme.example" and "404" in (failed.skip_reason or "")
    teams.clock.set(datetime(2026, 11, 16, 16, 31, tzinfo=ZoneInfo("America/New_York")))
    await tick(teams.app, teams.channel)
    assert not [s for s in teams.to(ALICE.personal_conversation_id) if s.body.get("attachments")]


async def test_with_an_app_id_an_unauthenticated_call_gets_401(tmp_path: Path) -> None:
    url = await sample_database(tmp_path / "auth.db")
    settings = Settings(database_url=url, teams_app_id=ta.BOT_APP_ID, teams_app_password="pw")
    async with open_app(settings) as app:
        web_app, _ = build_web_app(settings, app)
        server = TestServer(web_app, host="127.0.0.1")
        await server.start_server()
        activity = ta.message(
            ALICE,
            "goals",
            service_url="http://127.0.0.1:9/",
            conversation_id=ALICE.personal_conversation_id,
            activity_id="x",
        )
        async with aiohttp.ClientSession() as http:
            for auth in (None, "Bearer not-a-token"):
                headers = {"Content-Type": "application/json"} | (
                    {"Authorization": auth} if auth else {}
                )
                async with http.post(
                    server.make_url("/api/messages"), data=json.dumps(activity), headers=headers
                ) as response:
                    assert response.status == 401
        await server.close()
        alice = await app.deps.directory.person("alice@acme.example")
        assert alice is not None and alice.ids.get("teams") is None


async def test_sends_to_one_conversation_are_paced_to_teams_limits() -> None:
    import time

    from bot.channels.teams.channel import Pacer

    pacer = Pacer(((0.5, 3),))  # the shape of 7 per second, shrunk to keep the test short
    started = time.monotonic()
    stamps = []
    for _ in range(7):
        await pacer.wait("a:1")
        stamps.append(time.monotonic() - started)
    await pacer.wait("a:2")  # another conversation is not held back
    assert all(later - earlier >= 0.49 for earlier, later in zip(stamps, stamps[3:], strict=False))
    assert time.monotonic() - started - stamps[-1] < 0.25


def texts(card: dict[str, Any]) -> list[str]:
    """Every TextBlock's text in a card, shown cards included."""
    found = [b["text"] for b in card.get("body", []) if b.get("type") == "TextBlock"]
    for action in card.get("actions", []):
        found += texts(action.get("card", {}))
    return found


async def test_teams_reads_its_own_markdown_not_slacks(teams: Teams) -> None:
    card = await nudge_alice(teams)
    shown = texts(card)
    assert (
        "Update **Close $600k in New ARR (Alice)** → $384,000 (64% of quota $600,000, 53% of "
        "target $720,000)?" in shown
    )
    deals = [t for t in shown if t.startswith("[")]
    assert deals and all(re.fullmatch(r"\[[^\]]+\]\(https?://[^)\s]+\)", t) for t in deals)
    await teams.install(MAYA)
    await teams.post(
        ta.conversation_update_members_added(MAYA, service_url=teams.fake.url, team=PLATFORM)
    )
    await post_digest(teams.app.deps, teams.channel, "Platform")
    [digest] = [card_of(s) for s in teams.to(PLATFORM.id) if s.body.get("attachments")]
    shown += texts(digest)
    assert any("**Ship Payment Gateway v2**" in t for t in shown)
    await teams.post(teams.typed(MAYA, "help", "m-3"))
    help_text = teams.to(MAYA.personal_conversation_id)[-1].body["text"]
    assert help_text.startswith("**goals** — your key results")
    shown.append(help_text)
    for text in shown:  # Slack's markup, or the old mangling of it, nowhere
        assert "`" not in text and "*“" not in text
        assert re.search(r"(?<!\*)\*[^*\s][^*]*\*(?!\*)", text) is None, text


async def test_after_a_flag_the_card_asks_still_blocked_and_unblocked_resolves_it(
    teams: Teams,
) -> None:
    from bot.core.answers import answer
    from bot.core.prompts import ActionId, Answer

    note = "Security has not approved prod data"
    await teams.install(FARID)
    teams.clock.set(datetime(2026, 11, 18, 11, 20, tzinfo=ZoneInfo("Europe/London")))
    flag = Answer("f1", "farid@acme.example", ActionId.FLAG_RISK, kr="fraud-api", note=note)
    assert (await answer(teams.app.deps, flag)).ok
    teams.clock.set(datetime(2026, 11, 19, 10, 0, tzinfo=ZoneInfo("Europe/London")))
    await tick(teams.app, teams.channel)
    [card] = [
        card_of(s) for s in teams.to(FARID.personal_conversation_id) if s.body.get("attachments")
    ]
    assert f"Still blocked on “{note}”?" in json.dumps(card, ensure_ascii=False)
    still, unblocked, update = card["actions"]
    assert (still["title"], still["verb"]) == ("Still blocked", "still_blocked")
    assert (unblocked["title"], unblocked["verb"]) == ("Unblocked", "on_track")
    assert update["title"] == "Update the note…"
    field = next(b for b in update["card"]["body"] if b.get("id") == "note")
    assert field["value"] == note
    press = ta.card_action(
        FARID,
        "on_track",
        unblocked["data"],
        service_url=teams.fake.url,
        conversation_id=FARID.personal_conversation_id,
        reply_to_id="act-9",
    )
    status, body = await teams.post(press)
    assert status == 200
    assert body["value"]["body"][0]["text"] == (
        "👍 Noted: **Launch the fraud scoring API** is on track."
    )
    assert await teams.app.deps.ledger.open_blockers() == []

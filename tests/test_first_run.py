"""Before any org import: every Slack and Teams interaction is answered with the admin's step."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import slack_requests as sr
import teams_activities as ta
from conftest import Running, running
from fakes.bot_connector import FakeConnector
from fakes.slack_api import FakeSlack
from slack_harness import SECRET, Slack
from slack_oauth_harness import TOKENS, Install, oauth_app
from sqlalchemy import event
from test_serve import free_port, serve_env, started

from bot.config import Settings
from bot.demo import SAMPLE_ORG
from bot.orgfile import load_file
from storage import open_store, upgrade

LINE = (
    "goalnudge isn't set up yet: an admin must run `goalnudge org import FILE.yaml` "
    "(see README → The org file)."
)
# Teams reads markdown, which has no inline code: the command is bold there.
TEAMS_LINE = LINE.replace("`", "**")
ALICE = ta.TeamsUser.from_email("alice@acme.example", "Alice Chen")
PLATFORM = ta.TeamsTeam("19:platform0general@thread.tacv2", "Platform", "group-1")


def no_errors(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@asynccontextmanager
async def empty(db_url: str, **settings: Any) -> AsyncIterator[Running]:
    """The real server on a migrated database into which no org file was imported."""
    await upgrade(db_url)
    async with running(Settings(database_url=db_url, **settings)) as on:
        yield on


@pytest.fixture
async def slack(db_url: str) -> AsyncIterator[Slack]:
    async with FakeSlack() as fake:
        fake.add_user("UALICE", "alice@acme.example")
        setup = {"slack_bot_token": "xoxb-test", "slack_signing_secret": SECRET}
        async with empty(db_url, slack_api_url=fake.url, **setup) as on:
            yield Slack(fake, on.app, on.channel, on.clock, f"{on.base}/slack/events", on.http)


def text_of(view: dict[str, Any]) -> str:
    [block] = view["blocks"]
    return str(block["text"]["text"])


async def test_every_slack_interaction_before_the_import_gets_the_admins_step(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    command = await slack.post(sr.slash_command("UALICE", "/goals", "help", secret=SECRET))
    assert (command.status, (await command.json())["text"]) == (200, LINE)

    dm = {"type": "message", "channel_type": "im", "user": "UALICE", "channel": "DA", "ts": "1.2"}
    assert (await slack.post(sr.event(dm | {"text": "help"}, secret=SECRET))).status == 200
    [said] = await slack.wait_for("chat.postMessage")
    assert (said.params["channel"], said.params["text"]) == ("DA", LINE)

    home = await slack.post(sr.app_home_opened("UALICE", secret=SECRET, event_id="Ev2"))
    assert home.status == 200
    [published] = await slack.wait_for("views.publish")
    assert published.params["user_id"] == "UALICE" and text_of(published.params["view"]) == LINE

    click = sr.block_actions("UALICE", "gn:confirm", '{"c": 1}', secret=SECRET, channel="DA")
    assert (await slack.post(click)).status == 200
    [ephemeral] = await slack.wait_for("chat.postEphemeral")
    assert (ephemeral.params["channel"], ephemeral.params["user"]) == ("DA", "UALICE")
    assert ephemeral.params["text"] == LINE

    submit = sr.view_submission(
        "UALICE", "gn:adjust_modal", {"arr": {"value": {"value": "1"}}}, "{}", secret=SECRET
    )
    submitted = await slack.post(submit)
    body = await submitted.json()
    assert (submitted.status, body["response_action"]) == (200, "update")
    assert text_of(body["view"]) == LINE

    shortcut = sr.message_action(
        "UALICE", "flag_blocker", "db down", channel_id="C1", message_ts="1.1", secret=SECRET
    )
    assert (await slack.post(shortcut)).status == 200
    [opened] = await slack.wait_for("views.open")
    assert opened.params["trigger_id"] == "trig-2" and text_of(opened.params["view"]) == LINE
    no_errors(caplog)

    await slack.app.store.directory.import_chart(load_file(SAMPLE_ORG).chart)
    after = await slack.post(sr.slash_command("UALICE", "/goals", "help", secret=SECRET))
    assert "snooze until YYYY-MM-DD" in await after.text()


async def test_a_slack_workspace_installed_before_its_org_file_names_its_import(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with oauth_app(tmp_path) as install:
        await install.workspace("T1")
        line = (
            "goalnudge isn't set up yet: organisation slack-T1 has no people. An admin must run "
            "`GOALNUDGE_ORG=slack-T1 goalnudge org import FILE.yaml` (see README → The org file)."
        )
        assert json.loads(await install.goals("UALICE"))["text"] == line
        dm = {"type": "message", "channel_type": "im", "user": "UALICE", "channel": "DA"}
        await install.slack.post(sr.event(dm | {"text": "hi", "ts": "1.3"}, secret=SECRET))
        [said] = await install.slack.wait_for("chat.postMessage")
        assert (said.params["text"], said.token) == (line, TOKENS["T1"])
        no_errors(caplog)

        await install.workspace("T1", SAMPLE_ORG)
        assert "Close $600k in New ARR (Alice)" in await install.goals("UALICE")


async def test_uninstalling_a_workspace_before_its_import_still_forgets_its_token(
    tmp_path: Path,
) -> None:
    async with oauth_app(tmp_path) as install:
        await install.workspace("T1")
        bye = {"type": "app_uninstalled", "event_ts": "1700000000.000200"}
        await install.slack.post(sr.event(bye, secret=SECRET, event_id="EvBye"))
        await forgotten(install)


async def forgotten(install: Install) -> None:
    for _ in range(300):
        if not await install.raw_tokens():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the uninstalled workspace's token is still stored")


@asynccontextmanager
async def teams_on(db_url: str) -> AsyncIterator[tuple[Running, FakeConnector]]:
    fake = FakeConnector()
    await fake.start()
    fake.add_member(
        ALICE.personal_conversation_id, ALICE.id, ALICE.name, ALICE.email, ALICE.aad_object_id
    )
    try:
        async with empty(db_url) as on:
            yield on, fake
    finally:
        await fake.stop()


async def test_every_teams_interaction_before_the_import_gets_the_admins_step(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with teams_on(db_url) as (on, fake):
        chat = ALICE.personal_conversation_id
        where = {"service_url": fake.url, "conversation_id": chat}

        async def post(activity: dict[str, Any]) -> tuple[int, Any]:
            headers = {"Content-Type": "application/json"}
            data = json.dumps(activity)
            async with on.http.post(f"{on.base}/api/messages", data=data, headers=headers) as r:
                text = await r.text()
                return r.status, json.loads(text) if text.startswith("{") else text

        def said(conversation: str = chat) -> list[str]:
            sent = [s for s in fake.sent if s.op in ("send", "reply") and s.status < 300]
            return [s.body.get("text") for s in sent if s.conversation_id.startswith(conversation)]

        installed, _ = await post(ta.installation_update(ALICE, service_url=fake.url))
        assert (installed, said()) == (201, [TEAMS_LINE])
        message = ta.message(ALICE, "help", activity_id="m-1", **where)
        assert (await post(message))[0] == 201 and said()[-1] == TEAMS_LINE
        submit = ta.card_submit(ALICE, {"verb": "confirm", "c": 1}, reply_to_id="card-1", **where)
        assert (await post(submit))[0] == 201 and said() == [TEAMS_LINE] * 3

        action = ta.card_action(ALICE, "confirm", {"c": 1}, reply_to_id="card-1", **where)
        status, card = await post(action)
        assert status == 200 and card["value"]["body"][0]["text"] == TEAMS_LINE
        link = "https://teams.microsoft.com/l/message/19:x/1"
        fetch = ta.fetch_task(ALICE, "flagBlocker", "db down", message_link=link, **where)
        assert await post(fetch) == (200, {"task": {"type": "message", "value": LINE}})
        data = {"kr": "uptime", "note": "db down", "confidence": "40"}
        submitted = ta.submit_action(
            ALICE, "flagBlocker", data, message_text="db down", message_link=link, **where
        )
        assert await post(submitted) == (200, {"task": {"type": "message", "value": LINE}})

        team = ta.conversation_update_members_added(ALICE, service_url=fake.url, team=PLATFORM)
        assert (await post(team))[0] == 201 and said(PLATFORM.id) == [TEAMS_LINE]
        no_errors(caplog)


async def test_serve_starts_on_an_empty_database_and_readyz_names_the_step(tmp_path: Path) -> None:
    async with FakeSlack() as fake:
        fake.add_user("UALICE", "alice@acme.example")
        port = free_port()
        env = serve_env(
            f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
            SLACK_BOT_TOKEN="xoxb-t",
            SLACK_SIGNING_SECRET="s3cret",
            SLACK_API_URL=fake.url,
            GOALNUDGE_TICK_SECONDS="0.2",  # a few check-in rounds on the empty database too
            PORT=str(port),
        )
        upgrade_cmd = [sys.executable, "-m", "bot", "db", "upgrade"]
        await asyncio.to_thread(subprocess.run, upgrade_cmd, env=env, cwd=tmp_path, check=True)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            assert await started(base, process) == 200
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/readyz") as ready:
                    assert (ready.status, (await ready.json())["setup"]) == (200, LINE)
                body, headers = sr.slash_command("UALICE", "/goals", "help", secret="s3cret")
                async with http.post(f"{base}/slack/events", data=body, headers=headers) as r:
                    assert (r.status, (await r.json())["text"]) == (200, LINE)
                await asyncio.sleep(0.5)  # the scheduler's rounds meet the empty database
        finally:
            process.send_signal(2)
            output, _ = await asyncio.wait_for(process.communicate(), 20)
    log = output.decode()
    assert process.returncode == 0, log
    assert "Traceback" not in log and "ERROR" not in log, log


async def test_a_burst_of_first_clicks_asks_once_whether_anyone_is_imported(db_url: str) -> None:
    """The first 50 clicks after a start arrive together: the "is anyone imported yet?" question
    they all ask is put to the database once, not 50 times over (it once held up every one of
    them for a few hundred ms, the ack's budget)."""
    await upgrade(db_url)
    store = open_store(db_url, "acme")
    try:
        await store.directory.import_chart(load_file(SAMPLE_ORG).chart)
        fresh = store.for_org("acme").directory  # as a freshly started process holds it
        asked: list[str] = []

        def count(*args: Any) -> None:
            if "FROM people" in args[2]:
                asked.append(args[2])

        event.listen(store.engine.sync_engine, "before_cursor_execute", count)
        assert await asyncio.gather(*(fresh.staffed() for _ in range(50))) == [True] * 50
        assert len(asked) == 1
        assert await fresh.staffed() and len(asked) == 1  # and never again
    finally:
        await store.close()

"""Slack OAuth for many workspaces: the install flow on the real server, and two installed
workspaces, each its own organisation, that see and change nothing of each other's."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import slack_requests as sr
from slack_harness import SECRET, button_value
from slack_oauth_harness import CLIENT_ID, KEY, TOKENS, Install, oauth_app
from test_cli import goalnudge
from test_operations import samples

from bot.channels.slack.oauth import BOT_SCOPES
from bot.demo import SAMPLE_ORG
from bot.server import WORKSPACES, workspace_rounds


@pytest.fixture
async def install(tmp_path: Path) -> AsyncIterator[Install]:
    async with oauth_app(tmp_path) as running_app:
        yield running_app


async def test_install_stores_the_workspace_encrypted_as_its_own_organisation(
    install: Install, tmp_path: Path
) -> None:
    authorize, cookie = await install.start()
    assert str(authorize).startswith("https://slack.com/oauth/v2/authorize?")
    assert authorize.query["client_id"] == CLIENT_ID
    assert set(authorize.query["scope"].split(",")) == set(BOT_SCOPES)
    state = authorize.query["state"]
    assert len(state) > 30 and cookie == state

    status, page = await install.back("code-T1", state, cookie)
    assert status == 200
    assert "goalnudge is installed in Acme" in page
    assert "GOALNUDGE_ORG=slack-T1 goalnudge org import org.yaml" in page
    [exchange] = install.fake.called("oauth.v2.access")
    assert exchange.params["code"] == "code-T1"
    [stored] = await install.raw_tokens()
    assert TOKENS["T1"] not in stored and stored.startswith("gAAAAA")
    found = await install.on.app.store.installations.find("T1")
    assert found is not None and (found.bot_token, found.org_slug) == (TOKENS["T1"], "slack-T1")
    assert await install.organisations() == ["slack-T1"]

    url = install.settings.database_url
    imported = goalnudge("org", "import", str(SAMPLE_ORG), cwd=tmp_path, DATABASE_URL=url,
                         GOALNUDGE_ORG="slack-T1")  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert "Importing into organisation slack-T1 (GOALNUDGE_ORG), not the file's acme." in (
        imported.stdout
    )
    assert await install.organisations() == ["slack-T1"]
    assert "Close $600k in New ARR (Alice)" in await install.goals("UALICE")


async def test_a_forged_missing_or_used_state_is_refused_and_installs_nothing(
    install: Install,
) -> None:
    stale = "This install link is no longer valid"
    authorize, cookie = await install.start()
    assert authorize.query["state"] == cookie
    status, page = await install.back("code-T1", "forged-state", "forged-state")
    assert (status, stale in page) == (401, True)
    status, page = await install.back("code-T1", None, None)
    assert (status, stale in page) == (400, True)
    status, page = await install.back("code-T1", cookie, None)  # another browser
    assert (status, stale in page) == (400, True)
    assert install.fake.called("oauth.v2.access") == []
    assert await install.raw_tokens() == [] and await install.organisations() == []

    status, _ = await install.back("code-T1", cookie, cookie)
    assert status == 200
    status, page = await install.back("code-T2", cookie, cookie)  # the same state again
    assert (status, stale in page) == (401, True)
    assert [w.team_id for w in await install.on.app.store.installations.all()] == ["T1"]
    assert await install.organisations() == ["slack-T1"]


async def test_each_workspace_sees_only_its_own_goals(install: Install, tmp_path: Path) -> None:
    await install.both(tmp_path)
    acme = await install.goals("UALICE")
    assert "Close $600k in New ARR (Alice)" in acme and "Globex" not in acme
    theirs = await install.goals("WALICE", team="T2")
    assert "Close $600k in Globex ARR (Alice)" in theirs and "New ARR" not in theirs
    assert "I don't know you yet" in await install.goals("WALICE")  # T2's user, asking in T1


async def test_the_round_sends_each_workspaces_nudges_with_its_own_token(
    install: Install, tmp_path: Path
) -> None:
    await install.both(tmp_path)
    nudge = await install.monday_round()
    assert "Close $600k in Globex ARR (Alice)" in json.dumps(nudge.params["blocks"])
    calls = install.fake.called("chat.postMessage")
    sent = {t: sorted(c.params["channel"] for c in calls if c.token == TOKENS[t]) for t in TOKENS}
    assert "UALICE" in sent["T1"] and "WALICE" in sent["T2"]
    assert not [c for c in sent["T1"] if c.startswith("W")]
    assert not [c for c in sent["T2"] if c.startswith("U")]
    assert [c.replace("W", "U", 1) for c in sent["T2"]] == sent["T1"]  # same people, same day
    assert len(calls) == len(sent["T1"]) + len(sent["T2"])
    async with install.on.http.get(f"{install.on.base}/metrics") as response:
        metric = samples(await response.text())
    posted = metric("goalnudge_chat_api_calls_total", platform="slack", method="chat.postMessage")
    assert posted == len(calls)  # both workspaces' calls, counted together


async def test_a_click_in_one_workspace_cannot_answer_another_workspaces_checkin(
    install: Install, tmp_path: Path
) -> None:
    await install.both(tmp_path)
    value = button_value(await install.monday_round(), "gn:confirm")
    await install.slack.post(
        sr.block_actions("UALICE", "gn:confirm", value, secret=SECRET, channel="DUALICE")
    )
    [refused] = await install.slack.wait_for("chat.update")
    assert refused.params["text"] == "That check-in is not yours to answer."
    assert refused.token == TOKENS["T1"]
    workspaces = await install.on.web_app[WORKSPACES].all()
    t2 = next(w for w in workspaces if w.team_id == "T2").app.deps
    kr = await t2.directory.key_result("arr-alice")
    assert kr is not None and kr.current == 300_000
    row = await t2.outbox.get(json.loads(value)["c"])
    assert row is not None and row.state.value == "sent"

    await install.slack.post(
        sr.block_actions(
            "WALICE", "gn:confirm", value, secret=SECRET, channel="DWALICE", team_id="T2"
        )
    )
    updates = await install.slack.wait_for("chat.update", 2)
    assert updates[1].token == TOKENS["T2"] and updates[1].params["text"].startswith("✅ Confirmed")


async def test_commands_act_on_a_workspace_through_its_own_token(
    install: Install, tmp_path: Path
) -> None:
    await install.both(tmp_path)
    env = {
        "DATABASE_URL": install.settings.database_url,
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": "client-secret",
        "SLACK_SIGNING_SECRET": SECRET,
        "GOALNUDGE_SECRET_KEY": KEY,
        "SLACK_API_URL": install.fake.url,
    }
    posted = await asyncio.to_thread(  # the fake Slack answers from this test's loop
        goalnudge,
        "digest",
        "post",
        "--team",
        "Sales East",
        cwd=tmp_path,
        GOALNUDGE_ORG="slack-T2",
        **env,
    )
    assert posted.returncode == 0, posted.stderr
    [digest] = install.fake.called("chat.postMessage")
    assert (digest.params["channel"], digest.token) == ("#sales-east", TOKENS["T2"])
    assert "Globex ARR" in json.dumps(digest.params["blocks"])

    both = goalnudge("org", "export", cwd=tmp_path, SLACK_BOT_TOKEN="xoxb-one", **env)
    assert both.returncode == 2 and both.stderr.splitlines() == [
        "goalnudge: SLACK_CLIENT_ID: set either SLACK_BOT_TOKEN (one workspace) or "
        "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (OAuth install in many workspaces), not both"
    ]
    no_key = goalnudge("serve", cwd=tmp_path, **(env | {"GOALNUDGE_SECRET_KEY": ""}))
    assert no_key.returncode == 2 and no_key.stderr.splitlines() == [
        "goalnudge: GOALNUDGE_SECRET_KEY: required with SLACK_CLIENT_ID, to encrypt the "
        "workspaces' tokens; make one with `goalnudge secrets key`"
    ]


async def test_uninstalling_forgets_the_token_and_ends_the_workspaces_rounds(
    install: Install, tmp_path: Path
) -> None:
    await install.both(tmp_path)
    bye = {"type": "app_uninstalled", "event_ts": "1700000000.000200"}
    response = await install.slack.post(
        sr.event(bye, secret=SECRET, event_id="EvBye", team_id="T2")
    )
    assert response.status == 200
    for _ in range(300):
        if len(await install.raw_tokens()) == 1:
            break
        await asyncio.sleep(0.01)
    assert [w.team_id for w in await install.on.app.store.installations.all()] == ["T1"]
    assert await install.organisations() == ["slack-T1", "slack-T2"]  # the history stays
    install.slack.at("2026-11-16 16:30", "America/New_York")
    await workspace_rounds(install.on.web_app[WORKSPACES])
    tokens = {c.token for c in install.fake.calls if c.method == "chat.postMessage"}
    assert tokens == {TOKENS["T1"]}

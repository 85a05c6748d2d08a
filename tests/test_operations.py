"""Operating goalnudge: metrics after an end-to-end run, readiness, and logs that keep secrets."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import slack_requests as sr
import teams_activities as ta
from conftest import Conversation, sample_database
from fakes.salesforce import FakeSalesforce
from fakes.slack_api import Call, FakeSlack
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from slack_harness import button_value, slack_app
from test_crash import seed as crash_seed
from test_leader import USERS, seed
from test_serve import free_port, serve_env, spawn

from bot import logs
from bot.core.model import CheckInState
from bot.demo import SAMPLE_DATA
from bot.observability import Health
from storage import open_store

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-1111-2222-TOPSECRETslack",
    "SLACK_SIGNING_SECRET": "signing-TOPSECRET-0123456789",
    "TEAMS_APP_PASSWORD": "teams-TOPSECRET-password",
    "SALESFORCE_PASSWORD": "sf-TOPSECRET-wrong-password",  # refused: errors get logged
    "SALESFORCE_SECURITY_TOKEN": "sfTOPSECRETtoken",
}
NOTE = "PRIVATE: Initech is about to churn"


def samples(text: str) -> Callable[..., float]:
    """A lookup of one sample's value in Prometheus text, by name and labels (0 if absent)."""
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return lambda name, **labels: found.get((name, tuple(sorted(labels.items()))), 0.0)


async def wait_for(check: Callable[[], Any], what: str, seconds: float = 30) -> Any:
    for _ in range(int(seconds / 0.05)):
        if found := check():
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def nudge_to(fake: FakeSlack, user: str) -> Call | None:
    return next((c for c in fake.called("chat.postMessage") if c.params["channel"] == user), None)


async def test_an_end_to_end_run_shows_in_metrics_and_leaves_no_secret_in_the_logs(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}"
    await seed(url)
    port = free_port()
    link = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with FakeSalesforce(users_login={"bot@acme.example": ("right", "TOK")}) as salesforce:
        async with FakeSlack() as slack, aiohttp.ClientSession() as http:
            for user, name in USERS.items():
                slack.add_user(user, f"{name}@acme.example")
            env = serve_env(
                url,
                **SECRETS,
                SLACK_API_URL=slack.url,
                TEAMS_APP_ID=ta.BOT_APP_ID,
                SALESFORCE_USERNAME="bot@acme.example",
                SALESFORCE_DOMAIN=salesforce.login_domain,
                REQUESTS_CA_BUNDLE=salesforce.ca_bundle,
                GOALNUDGE_SAMPLE_DATA=str(SAMPLE_DATA),
                GOALNUDGE_TICK_SECONDS="1",
                PORT=str(port),
            )
            server = await spawn(env, log, tmp_path)
            try:
                nudge = await wait_for(lambda: nudge_to(slack, "UALICE"), "Alice's nudge")
                await sr_post(http, link, sr.block_actions(
                    "UALICE", "gn:adjust", button_value(nudge, "gn:adjust"),
                    secret=SECRETS["SLACK_SIGNING_SECRET"], channel="DUALICE",
                ))  # fmt: skip
                opened = await wait_for(lambda: slack.called("views.open"), "the adjust modal")
                values = {
                    "value:arr-alice": {"v": {"type": "plain_text_input", "value": "400000"}},
                    "note": {"v": {"type": "plain_text_input", "value": NOTE}},
                }
                meta = opened[0].params["view"]["private_metadata"]
                submit = sr.view_submission(
                    "UALICE",
                    "gn:adjust_modal",
                    values,
                    meta,
                    secret=SECRETS["SLACK_SIGNING_SECRET"],
                )
                assert (await sr_post(http, link, submit)) == 200
                await wait_for(lambda: slack.called("chat.update"), "the answered message")
                teams = ta.message(ta.TeamsUser.from_email("alice@acme.example", "Alice Chen"),
                                   "goals", service_url=slack.url, conversation_id="a:1",
                                   activity_id="m-1")  # fmt: skip
                async with http.post(f"{link}/api/messages", json=teams) as response:
                    assert response.status == 401  # no Bot Framework token: refused
                async with http.get(f"{link}/readyz") as response:
                    ready = response.status, await response.json()
                async with http.get(f"{link}/metrics") as response:
                    metric = samples(await response.text())
            finally:
                server.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(server.wait(), 20) == 0

    nudged = len({c.params["channel"] for c in slack.called("chat.postMessage")})
    assert metric("goalnudge_prompts_total", outcome="planned", reason="") == nudged
    assert metric("goalnudge_prompts_total", outcome="sent", reason="") == nudged
    assert metric("goalnudge_prompts_total", outcome="answered", reason="") == 1
    assert metric("goalnudge_answer_latency_seconds_count") == 1
    posted = metric("goalnudge_chat_api_calls_total", platform="slack", method="chat.postMessage")
    assert posted >= nudged
    assert metric("goalnudge_scheduler_leader") == 1
    assert metric("goalnudge_outbox_depth") == 0
    assert metric("goalnudge_integration_errors_total", source="Salesforce") >= 1

    status, body = ready
    assert status == 503 and body["checks"]["slack"] == "ok"
    assert "login refused" in body["checks"]["salesforce"]
    # Azure AD is out of reach here (and would refuse this made-up app anyway): not ready.
    assert body["checks"]["teams"].startswith("failing: ")

    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    requests = [r for r in records if r["logger"] == "aiohttp.access"]
    assert any("POST /slack/events 200" in r["message"] for r in requests)
    assert all(r["request_id"] != "-" for r in requests)
    assert any(r["request_id"].startswith("round-") for r in records)
    assert not [r for r in records if r["logger"].startswith("slack_bolt")]  # no false alarms
    text = log.read_text()
    for name, secret in SECRETS.items():
        assert secret not in text, f"{name} appears in the log"
    assert NOTE not in text and "Initech" not in text


async def sr_post(
    http: aiohttp.ClientSession, link: str, request: tuple[str, dict[str, str]]
) -> int:
    body, headers = request
    async with http.post(f"{link}/slack/events", data=body.encode(), headers=headers) as response:
        await response.read()
        return response.status


def test_secrets_and_token_shaped_text_are_masked_in_log_lines() -> None:
    out = io.StringIO()
    logs.setup(["configured-secret-value"], style="json", stream=out)
    try:
        logging.getLogger("goalnudge.test").warning(
            "failed with configured-secret-value, xoxb-123-456-abc and Bearer eyJhbGciOi.x.y"
        )
    finally:
        logs.setup(level="WARNING")
    [line] = out.getvalue().splitlines()
    assert json.loads(line)["message"] == "failed with [redacted], [redacted] and [redacted]"


async def test_skips_are_counted_by_reason(chat: Conversation) -> None:
    health = Health()
    chat.deps = replace(chat.deps, metrics=health)
    chat.at("2026-11-26 16:30", "America/New_York")  # Thanksgiving in the US
    await chat.tick()
    metric = samples(generate_latest(health.registry).decode())
    holidays = chat.said().count("skipped — public holiday")
    assert holidays >= 1
    assert metric("goalnudge_prompts_total", outcome="skipped", reason="holiday") == holidays
    assert metric("goalnudge_prompts_total", outcome="skipped", reason="other") == 0


async def test_readiness_fails_when_slack_no_longer_accepts_the_token(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as slack:
        slack.fake.fail("auth.test", "token_revoked")
        async with slack.http.get(slack.url.replace("/slack/events", "/readyz")) as response:
            body = await response.json()
    assert response.status == 503
    assert body["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "slack": "failing: slack: token_revoked",
    }


async def test_stopping_in_the_middle_of_a_round_is_quiet_and_loses_nothing(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'stop.db'}"
    await crash_seed(url)  # 200 people, all due now
    log = tmp_path / "serve.log"
    async with FakeSlack() as slack:
        slack.delay = 0.2  # a slow Slack: the round is still sending when the stop comes
        env = serve_env(url, SLACK_BOT_TOKEN="xoxb-t", SLACK_SIGNING_SECRET="s",
                        SLACK_API_URL=slack.url, GOALNUDGE_TICK_SECONDS="1")  # fmt: skip
        server = await spawn(env, log, tmp_path)
        await wait_for(lambda: len(slack.called("chat.postMessage")) >= 20, "the fan-out")
        server.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(server.wait(), 20) == 0
        sent = len(slack.called("chat.postMessage"))
    assert sent < 200  # it really was cut short
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert "check-in round stopped by shutdown" in [r["message"] for r in records]
    assert not [r for r in records if r["level"] in ("ERROR", "CRITICAL")]
    assert "Traceback" not in log.read_text()
    store = open_store(url, "acme")
    try:
        waiting = await store.outbox.in_state(CheckInState.PLANNED)
        claimed = await store.outbox.in_state(CheckInState.SENDING)
        done = await store.outbox.in_state(CheckInState.SENT)
    finally:
        await store.close()
    assert len(waiting) + len(claimed) + len(done) == 200  # the rest waits for the next leader


async def test_a_command_that_cannot_reach_slack_says_so_in_one_line(tmp_path: Path) -> None:
    url = await sample_database(tmp_path / "cli.db")
    env = serve_env(url, SLACK_BOT_TOKEN="xoxb-t", SLACK_SIGNING_SECRET="s",
                    SLACK_API_URL=f"http://127.0.0.1:{free_port()}/")  # fmt: skip
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "digest", "post", "--team", "Sales East"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    last = result.stderr.splitlines()[-1]
    assert last == "goalnudge: slack: cannot reach Slack (ClientConnectorError)"
    assert "Traceback" not in result.stderr

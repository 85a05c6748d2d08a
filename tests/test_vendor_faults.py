"""Vendors refusing, hanging or frozen never hold an ack, a round or a health probe hostage."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
import slack_requests as sr
import teams_activities as ta
from conftest import running
from fakes.jira import FakeJira
from pgserver import PostgresServer
from slack_harness import SECRET, Slack, slack_app
from test_operations import samples

from bot.config import Settings
from bot.demo import SAMPLE_ORG
from bot.orgfile import load_file
from bot.server import tick
from storage import open_store, upgrade

JIRA_TIMEOUT = 4.0  # longer than the ack bound below: an ack that waited on Jira would miss it
BLOCKER = "Blocked: security hasn't approved prod data access"


def stocked(fake: FakeJira) -> FakeJira:
    fake.add_epic("PAY-12", "Payment Gateway v2", due="2026-11-13")
    fake.add_epic("RISK-7", "Fraud scoring API", due="2026-12-18")
    fake.add_epic("MOB-3", "Mobile SDK 3.0", due="2026-12-11")
    for i in range(4):
        fake.add_child("RISK-7", f"RISK-{100 + i}", done=i > 0)
    return fake


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira("cloud") as fake:
        yield stocked(fake)


def with_jira(fake: FakeJira, timeout: float, **extra: object) -> dict[str, object]:
    return {
        "jira_url": fake.url,
        "jira_email": "bot@acme.example",
        "jira_api_token": "token",
        "jira_timeout_seconds": timeout,
        **extra,
    }


def break_(fake: FakeJira, how: str, on: bool = True) -> None:
    (fake.refuse if how == "refusing" else fake.hang)(on)


async def wait_until(check, what: str, seconds: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def flag_from_a_message(slack: Slack) -> tuple[float, int]:
    """Farid flags his goal from a message, asking to flag the epic too: (seconds, status)."""
    await slack.post(
        sr.message_action(
            "UFARID",
            "flag_blocker",
            BLOCKER,
            channel_id="CPLATFORM",
            message_ts="1700000200.000300",
            secret=SECRET,
            message_user="UFARID",
        )
    )
    [opened] = await slack.wait_for("views.open")
    submit = sr.view_submission(
        "UFARID",
        "gn:flag_modal",
        {
            "kr": {"v": {"type": "static_select", "selected_option": {"value": "fraud-api"}}},
            "note": {"v": {"type": "plain_text_input", "value": BLOCKER}},
            "confidence": {"v": {"type": "plain_text_input", "value": "55"}},
            "write_back": {"v": {"type": "checkboxes", "selected_options": [{"value": "yes"}]}},
        },
        opened.params["view"]["private_metadata"],
        secret=SECRET,
        view_id="V7",
    )
    started = time.monotonic()
    response = await slack.post(submit)
    return time.monotonic() - started, response.status


@pytest.mark.parametrize("how", ["refusing", "hung"])
async def test_a_flag_modal_is_acked_at_once_whatever_jira_does_and_the_engineer_hears_later(
    tmp_path: Path, jira: FakeJira, how: str
) -> None:
    async with slack_app(tmp_path, **with_jira(jira, JIRA_TIMEOUT)) as slack:
        break_(jira, how)
        seconds, status = await flag_from_a_message(slack)
        assert status == 200
        assert seconds < 2.0, f"the modal submit waited {seconds:.1f} s on Jira"
        [blocker] = await slack.app.deps.ledger.open_blockers()
        assert blocker.note == BLOCKER
        posts = await slack.wait_for("chat.postMessage", 2)
        [to_maya] = [c for c in posts if c.params["channel"] == "UMAYA"]
        assert "🚩 Farid Haddad flagged “Launch the fraud scoring API”" in to_maya.params["text"]
        [to_farid] = [c for c in posts if c.params["channel"] == "UFARID"]
        assert "⏳ Now flagging RISK-7 in Jira…" in to_farid.params["text"]

        def told() -> bool:
            return any("⚠️" in c.params["text"] for c in slack.fake.called("chat.update"))

        await wait_until(told, "the write-back's outcome", JIRA_TIMEOUT + 10)
        [update] = slack.fake.called("chat.update")  # the DM with ⏳, updated in place
        assert update.params["text"].startswith("🚩 Flagged *Launch the fraud scoring API*")
        assert "⚠️ I couldn't flag RISK-7 in Jira just now" in update.params["text"]
        assert "everything else is saved" in update.params["text"]
        break_(jira, how, False)
    assert jira.comments == []


async def test_a_flag_written_back_after_the_ack_is_shown_in_place(
    tmp_path: Path, jira: FakeJira
) -> None:
    async with slack_app(tmp_path, **with_jira(jira, JIRA_TIMEOUT)) as slack:
        _, status = await flag_from_a_message(slack)
        assert status == 200

        def told() -> bool:
            return any("🔗" in c.params["text"] for c in slack.fake.called("chat.update"))

        await wait_until(told, "the write-back's outcome")
    [(key, body)] = jira.comments
    assert key == "RISK-7" and BLOCKER in body
    assert jira.issues["RISK-7"][jira.flagged_field_id]


async def metrics_text(slack: Slack) -> str:
    async with slack.http.get(slack.url.replace("/slack/events", "/metrics")) as response:
        return await response.text()


@pytest.mark.parametrize("how", ["refusing", "hung"])
async def test_an_unreachable_jira_costs_one_timeout_a_round_then_is_left_alone_for_a_while(
    tmp_path: Path, jira: FakeJira, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    timeout = 1.0
    settings = with_jira(jira, timeout, goalnudge_sync_minutes=1)  # a full sync every round
    async with slack_app(tmp_path, **settings) as slack:
        break_(jira, how)
        slack.at("2026-11-19 10:00", "Europe/Berlin")  # Erin's and Grace's check-in time
        caplog.set_level(logging.INFO, "goalnudge")
        for round_ in range(3):  # three failures in a row open the circuit
            started = time.monotonic()
            await tick(slack.app, slack.channel)
            spent = time.monotonic() - started
            assert spent < timeout + 1.5, f"round {round_ + 1} took {spent:.1f} s"
            # one request a round at most: nothing retried (a refused one never arrives)
            assert len(jira.calls) == (round_ + 1 if how == "hung" else 0)
            slack.at(f"2026-11-19 10:0{round_ + 1}", "Europe/Berlin")
        nudges = [
            c for c in slack.fake.called("chat.postMessage") if c.params["channel"] == "UERIN"
        ]
        [erin] = nudges
        assert "Weekly check: how confident are you" in erin.params["text"]  # asked by hand

        break_(jira, how, False)  # Jira is back, but the circuit stays open for its cool-down
        seen = len(jira.calls)
        for minute in range(4, 7):
            slack.at(f"2026-11-19 10:0{minute}", "Europe/Berlin")
            await tick(slack.app, slack.channel)
        assert len(jira.calls) == seen, "Jira was called while its circuit was open"
        opened = [r for r in caplog.records if r.name == "goalnudge.breaker"]
        assert len(opened) == 1 and "Jira failed 3 times in a row" in opened[0].getMessage()
        metric = samples(await metrics_text(slack))
        assert metric("goalnudge_integration_circuit_total", source="Jira", event="opened") == 1
        assert metric("goalnudge_integration_circuit_total", source="Jira", event="skipped") >= 3

        slack.at("2026-11-19 10:09", "Europe/Berlin")  # the cool-down has passed: one probe
        await tick(slack.app, slack.channel)
        assert len(jira.calls) > seen
        readings = await slack.app.deps.snapshots.latest("jira", ["fraud-api"])
        assert readings["fraud-api"].details["key"] == "RISK-7"
        metric = samples(await metrics_text(slack))
        assert metric("goalnudge_integration_circuit_total", source="Jira", event="closed") == 1


async def pg_sample(server: PostgresServer, name: str) -> str:
    url = server.create_database(name)
    await upgrade(url)
    store = open_store(url, "acme")
    await store.directory.import_chart(load_file(SAMPLE_ORG).chart)
    await store.close()
    return url


def cluster_pids(server: PostgresServer) -> list[int]:
    """The postmaster and every process it started."""
    main = int((server.data_dir / "postmaster.pid").read_text().split()[0])
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[1]) == main:
            children.append(int(stat.parent.name))
    return [main, *children]


@contextmanager
def frozen(server: PostgresServer) -> Iterator[None]:
    pids = cluster_pids(server)
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


@pytest.fixture
async def on_postgres(
    pg_server: PostgresServer,
) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    url = await pg_sample(pg_server, "frozen_probe")
    async with running(Settings(database_url=url)) as on:
        yield on.base, on.http


async def timed_get(http: aiohttp.ClientSession, url: str) -> tuple[float, int, str]:
    started = time.monotonic()
    async with http.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
        body = await response.text()
    return time.monotonic() - started, response.status, body


async def test_readyz_and_metrics_answer_within_two_seconds_while_postgres_is_frozen(
    pg_server: PostgresServer, on_postgres: tuple[str, aiohttp.ClientSession]
) -> None:
    base, http = on_postgres
    _, status, before = await timed_get(http, f"{base}/metrics")
    assert status == 200
    depth = samples(before)("goalnudge_outbox_depth")
    with frozen(pg_server):
        seconds, status, body = await timed_get(http, f"{base}/readyz")
        assert seconds < 2.0, f"/readyz took {seconds:.1f} s"
        assert status == 503
        assert '"database": "failing: database timed out"' in body
        seconds, status, body = await timed_get(http, f"{base}/metrics")
        assert seconds < 2.0, f"/metrics took {seconds:.1f} s"
        assert status == 200 and samples(body)("goalnudge_outbox_depth") == depth
        again, status, _ = await timed_get(http, f"{base}/readyz")  # the hung check is reused
        assert again < 2.0 and status == 503
    await asyncio.sleep(0)
    for _ in range(100):  # thawed: ready again once the database answers
        _, status, body = await timed_get(http, f"{base}/readyz")
        if status == 200:
            break
        await asyncio.sleep(0.1)
    assert status == 200, body


async def test_a_teams_flag_is_answered_at_once_while_jira_hangs_and_farid_hears_later(
    tmp_path: Path, jira: FakeJira
) -> None:
    from conftest import sample_database
    from fakes.bot_connector import FakeConnector
    from test_teams import FARID, MAYA, PLATFORM, Teams

    url = await sample_database(tmp_path / "teams.db")
    fake = FakeConnector()
    await fake.start()
    settings = Settings(database_url=url, **with_jira(jira, JIRA_TIMEOUT))  # type: ignore[arg-type]
    async with running(settings) as on:
        teams = Teams(fake, on.app, on.channel, on.clock, f"{on.base}/api/messages", on.http)
        for user in (FARID, MAYA):
            await teams.install(user)
        jira.hang()
        submit = ta.submit_action(
            FARID,
            "flagBlocker",
            {"kr": "fraud-api", "note": BLOCKER, "confidence": "55", "write_back": "yes"},
            service_url=fake.url,
            conversation_id=PLATFORM.id,
            message_text=BLOCKER,
            message_link="https://teams.microsoft.com/l/message/19:abc/1700000000",
            team=PLATFORM,
        )
        started = time.monotonic()
        status, body = await teams.post(submit)
        seconds = time.monotonic() - started
        assert status == 200 and "⏳ Now flagging RISK-7 in Jira…" in body["task"]["value"]
        assert seconds < 2.0, f"the message action waited {seconds:.1f} s on Jira"
        [blocker] = await on.app.deps.ledger.open_blockers()
        assert blocker.note == BLOCKER

        def to_farid() -> list[str]:
            sent = teams.to(FARID.personal_conversation_id)
            return [s.body.get("text", "") for s in sent if "⚠️" in s.body.get("text", "")]

        await wait_until(to_farid, "the write-back's outcome", JIRA_TIMEOUT + 10)
        assert "I couldn't flag RISK-7 in Jira just now" in to_farid()[0]
        jira.hang(False)
    await fake.stop()
    assert jira.comments == []

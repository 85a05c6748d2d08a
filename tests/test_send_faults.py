"""Sends that fail after the platform may have delivered them are looked up, never repeated; a
hung peer costs a round one timeout."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import teams_activities as ta
from conftest import Running, running, sample_database
from fakes.bot_connector import FakeConnector
from fakes.slack_api import FakeSlack
from slack_harness import PEOPLE

from bot.channels.slack.channel import SlackChannel, SlackLimits, make_client
from bot.config import Settings
from bot.core import checkins
from bot.core.delivery import deliver, recover
from bot.core.model import CheckIn, CheckInKind, CheckInState
from bot.core.planned import NoticeText
from bot.core.rich import rich
from bot.demo import SAMPLE_DATA
from bot.server import tick

TIMEOUT = 0.4  # seconds: the clients' timeout where a test waits it out (30 s would crawl)


@asynccontextmanager
async def slack_server(tmp_path: Path, **settings: Any) -> AsyncIterator[tuple[FakeSlack, Running]]:
    fake = FakeSlack()
    await fake.start()
    for user, name in PEOPLE.items():
        fake.add_user(user, f"{name}@acme.example")
    config = Settings(
        database_url=await sample_database(tmp_path / "slack.db"),
        slack_bot_token="xoxb-test",
        slack_signing_secret="secret",
        slack_api_url=fake.url,
        goalnudge_sample_data=SAMPLE_DATA,
        **{"slack_timeout_seconds": 10.0, **settings},
    )
    async with running(config) as on:
        yield fake, on
    await fake.stop()


async def everyone_due(on: Running) -> int:
    """One row for each of the 8 people: a prompt where the playbooks have one, else a notice
    (also sent through chat.postMessage with the row's id in the metadata)."""
    planned = (await checkins.plan(on.app.deps, force=True)).planned
    for name in set(PEOPLE.values()) - {r.person.split("@")[0] for r in planned}:
        heads_up = NoticeText(rich("Heads up"))
        notice = CheckIn(f"{name}@acme.example", CheckInKind.NOTICE, "2026-11-16",
                         CheckInState.PLANNED, on.clock.now(), heads_up)  # fmt: skip
        assert await on.app.deps.outbox.add(notice)
    return len(PEOPLE)


async def assert_one_message_each_and_recorded(
    fake: FakeSlack, on: Running, kind: str = "slack|"
) -> None:
    """Every person asked has exactly one message in their DM, and their row is sent with the
    reference of that very message (named by its platform when sent through the router)."""
    since = on.clock.now() - timedelta(days=1)
    rows = await on.app.deps.outbox.between(since, on.clock.now())
    assert rows
    for row in rows:
        user = next(u for u, name in PEOPLE.items() if row.person.startswith(name))
        [message] = fake.history[f"D{user}"]
        assert row.state is CheckInState.SENT
        assert row.message_ref == f"{kind}D{user}:{message['ts']}"
        assert message["metadata"]["event_payload"]["checkin"] == row.id
    sends = Counter(c.params["channel"] for c in fake.called("chat.postMessage"))
    assert set(sends.values()) == {1}  # not a single resend


async def test_slack_failing_after_posting_is_looked_up_and_nobody_is_nudged_twice(
    tmp_path: Path,
) -> None:
    async with slack_server(tmp_path) as (fake, on):
        due = await everyone_due(on)
        fake.post_then(503, times=3)
        first = await deliver(on.app.deps, on.channel, concurrency=1)
        assert len(first.unconfirmed) == 3 and len(first.sent) == due - 3
        assert not first.failed

        await tick(on.app, on.channel)  # the next round looks the three up, sends nothing
        await tick(on.app, on.channel)
        await assert_one_message_each_and_recorded(fake, on)
        assert len(fake.called("conversations.history")) == 3


async def test_slack_answering_after_the_timeout_is_looked_up_and_nobody_is_nudged_twice(
    tmp_path: Path,
) -> None:
    async with slack_server(tmp_path, slack_timeout_seconds=TIMEOUT) as (fake, on):
        assert await everyone_due(on) == 8
        fake.post_then(seconds=TIMEOUT * 3, times=8)
        first = await deliver(on.app.deps, on.channel)
        assert len(first.unconfirmed) == 8 and not first.sent and not first.failed
        assert len(fake.called("chat.postMessage")) == 8  # the client did not try again

        await asyncio.sleep(TIMEOUT * 3)  # Slack's late answers arrive to nobody
        await tick(on.app, on.channel)
        await assert_one_message_each_and_recorded(fake, on)


async def test_a_lookup_that_finds_nothing_sends_once_more_and_only_then(tmp_path: Path) -> None:
    async with slack_server(tmp_path) as (fake, on):
        await checkins.plan(on.app.deps, force=True)
        fake.fail("chat.postMessage", "internal_error")  # Slack: it may or may not have posted
        first = await deliver(on.app.deps, on.channel, concurrency=1)
        [row] = first.unconfirmed
        assert sum(len(m) for m in fake.history.values()) == len(first.sent)  # not posted
        await tick(on.app, on.channel)  # the DM shows no such message: sent again, once
        await assert_one_message_each_and_recorded_after_refusal(fake, on, row.person)


async def assert_one_message_each_and_recorded_after_refusal(
    fake: FakeSlack, on: Running, person: str
) -> None:
    user = next(u for u, name in PEOPLE.items() if person.startswith(name))
    assert len(fake.history[f"D{user}"]) == 1
    assert len([c for c in fake.called("chat.postMessage") if c.params["channel"] == user]) == 2
    row = await on.app.deps.outbox.open_prompt(person)
    assert row is not None and row.state is CheckInState.SENT
    assert row.message_ref == f"slack|D{user}:{fake.history[f'D{user}'][0]['ts']}"


async def test_history_lookups_keep_to_slacks_limit_and_hold_up_nobody(tmp_path: Path) -> None:
    window = 4.0  # Slack's minute, shortened (yet longer than a round on a busy machine)
    async with slack_server(tmp_path) as (fake, on):
        fake.limit_history(calls=1, window=window, messages=15)
        # A generous timeout: only the three gateway errors may leave a send unconfirmed, not a
        # slow answer on a busy machine.
        limits = SlackLimits(timeout=10.0, history_lookups=1, history_window=window + 0.1)
        client = make_client("xoxb-test", fake.url, timeout=limits.timeout)
        channel = SlackChannel(client, on.app.deps.directory, limits)
        due = await everyone_due(on)
        fake.post_then(503, times=3)
        first = await deliver(on.app.deps, channel, limit=3, concurrency=1)
        assert len(first.unconfirmed) == 3

        # The next round: one lookup (the budget), the others wait; the rest are sent at once.
        started = time.monotonic()
        await recover(on.app.deps, channel)
        rest = await deliver(on.app.deps, channel)
        assert time.monotonic() - started < window  # nobody waited for the history budget
        assert len(rest.sent) == due - 3
        assert len(fake.called("conversations.history")) == 1
        assert len(await on.app.deps.outbox.in_state(CheckInState.UNCONFIRMED)) == 2

        for _ in range(2):  # one a window, as Slack allows
            await asyncio.sleep(window + 0.1)
            await recover(on.app.deps, channel)
        await assert_one_message_each_and_recorded(fake, on, kind="")  # Slack alone, no router
        asked = [c.at for c in fake.called("conversations.history")]
        assert len(asked) == 3 and all(b - a >= window for a, b in itertools.pairwise(asked))
        assert all(int(c.params["limit"]) <= 15 for c in fake.called("conversations.history"))


TEAMS_PEOPLE = [ta.TeamsUser.from_email(f"{name}@acme.example") for name in PEOPLE.values()]


@asynccontextmanager
async def teams_server(
    tmp_path: Path, timeout: float = TIMEOUT
) -> AsyncIterator[tuple[FakeConnector, Running]]:
    """The real server with everyone installed in Teams, against the fake connector."""
    fake = FakeConnector()
    await fake.start()
    config = Settings(
        database_url=await sample_database(tmp_path / "teams.db"),
        goalnudge_sample_data=SAMPLE_DATA,
        teams_timeout_seconds=timeout,
    )
    async with running(config) as on:
        for user in TEAMS_PEOPLE:
            fake.add_member(user.personal_conversation_id, user.id, user.name, user.email,
                            user.aad_object_id)  # fmt: skip
            activity = ta.installation_update(user, service_url=fake.url)
            async with on.http.post(f"{on.base}/api/messages", json=activity) as answer:
                assert answer.status in (200, 201)
        yield fake, on
    await fake.stop()


def teams_messages(fake: FakeConnector) -> Counter[str]:
    """How many messages each person's chat holds (whatever the connector answered)."""
    delivered = [s for s in fake.sent if s.op in ("send", "reply") and s.status < 300]
    return Counter(
        s.conversation_id
        for s in delivered
        if "attachments" in s.body or s.body.get("text") == "Heads up"
    )


async def unconfirmed_metric(on: Running) -> float:
    async with on.http.get(f"{on.base}/metrics") as answer:
        text = await answer.text()
    line = next(x for x in text.splitlines() if 'outcome="sent_unconfirmed"' in x)
    return float(line.rsplit(" ", 1)[1])


async def test_teams_failing_after_the_send_is_recorded_sent_unconfirmed_and_never_resent(
    tmp_path: Path,
) -> None:
    # A generous timeout: only the two gateway errors may leave a send unconfirmed, not a slow
    # answer on a busy machine.
    async with teams_server(tmp_path, timeout=10.0) as (fake, on):
        due = await everyone_due(on)
        fake.send_then_fail(502)
        fake.send_then_fail(504)
        first = await deliver(on.app.deps, on.channel, concurrency=1)
        assert len(first.unconfirmed) == 2 and len(first.sent) == due - 2

        await tick(on.app, on.channel)
        await tick(on.app, on.channel)
        assert set(teams_messages(fake).values()) == {1} and len(teams_messages(fake)) == due
        for row in first.unconfirmed:
            settled = await on.app.deps.outbox.get(row.id or 0)
            assert settled is not None and settled.state is CheckInState.SENT
            assert settled.message_ref is None  # Teams cannot tell us its activity id
        assert await unconfirmed_metric(on) == 2


async def test_a_hung_teams_connector_costs_one_timeout_and_holds_up_nobody_else(
    tmp_path: Path,
) -> None:
    async with teams_server(tmp_path, timeout=3.0) as (fake, on):
        due = await everyone_due(on)
        alice = TEAMS_PEOPLE[0]
        fake.hang_after_delivery(alice.personal_conversation_id, 15.0)
        started = time.monotonic()
        first = await deliver(on.app.deps, on.channel)
        assert time.monotonic() - started < 10  # about one timeout (3 s), not the 15 s hang
        assert len(first.sent) == due - 1
        [hung] = first.unconfirmed
        assert hung.person == alice.email

        await tick(on.app, on.channel)
        assert set(teams_messages(fake).values()) == {1} and len(teams_messages(fake)) == due


async def test_teams_refusing_connections_sent_nothing_so_the_next_round_tries_again(
    tmp_path: Path,
) -> None:
    # The connector client retries a refused connection with back-off for a few seconds: the
    # timeout must outlast that to see the refusal rather than silence.
    async with teams_server(tmp_path, timeout=10.0) as (fake, on):
        due = await everyone_due(on)
        await fake.stop()  # its port now refuses connections
        first = await deliver(on.app.deps, on.channel)
        assert not first.unconfirmed and not first.sent and len(first.failed) == due
        assert len(await on.app.deps.outbox.in_state(CheckInState.PLANNED)) == due

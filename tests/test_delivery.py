"""Delivery through the outbox to the fake Slack: refusals, rate limits, exactly one each."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_harness import PEOPLE, Slack, slack_app

from bot.core import checkins
from bot.core.delivery import deliver
from bot.core.model import CheckInState
from bot.server import post_digest, tick


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[Slack]:
    async with slack_app(tmp_path) as running:
        yield running


def posts_to(slack: Slack, user: str) -> list[float]:
    """When each chat.postMessage to `user`'s DM arrived (rate-limited attempts included)."""
    return [c.at for c in slack.fake.called("chat.postMessage") if c.params["channel"] == user]


async def test_someone_slack_refuses_for_good_is_not_asked_again_and_the_digest_says_why(
    slack: Slack,
) -> None:
    slack.fake.fail("chat.postMessage", "user_disabled")
    slack.at("2026-11-16 16:30", "America/New_York")
    await tick(slack.app, slack.channel)
    [row] = await slack.app.deps.outbox.in_state(CheckInState.FAILED)
    assert row.person == "alice@acme.example" and row.skip_reason == "slack: user_disabled"

    slack.at("2026-11-16 17:30", "America/New_York")
    await tick(slack.app, slack.channel)
    assert len(posts_to(slack, "UALICE")) == 1  # refused once, never tried again

    slack.at("2026-11-23 09:00", "America/New_York")
    await post_digest(slack.app.deps, slack.channel, "Sales East")
    digest = json.dumps(slack.fake.called("chat.postMessage")[-1].params["blocks"])
    assert "Alice" in digest and "could not be reached: slack: user_disabled" in digest


async def test_a_rate_limited_send_waits_as_long_as_slack_asks_and_everyone_gets_one(
    slack: Slack,
) -> None:
    planned = (await checkins.plan(slack.app.deps, force=True)).planned  # all due at once
    asked = {user for user, name in PEOPLE.items() for r in planned if r.person.startswith(name)}
    slack.fake.throttle(2)  # two calls a second, a burst of two: most sends meet a 429
    delivered = await deliver(slack.app.deps, slack.channel)

    assert len(asked) >= 4 and len(delivered.sent) == len(asked) and not delivered.failed
    assert all(len(slack.fake.history[f"D{user}"]) == 1 for user in asked)
    waits = [
        later - earlier
        for user in asked
        for earlier, later in zip(posts_to(slack, user), posts_to(slack, user)[1:], strict=False)
    ]
    assert waits, "the throttle should have refused some sends"
    assert min(waits) >= 0.99  # Retry-After: 1, honoured to the millisecond
    assert not await slack.app.deps.outbox.in_state(CheckInState.PLANNED)


async def test_a_revoked_token_stops_the_round_and_loses_nobody(slack: Slack) -> None:
    planned = (await checkins.plan(slack.app.deps, force=True)).planned
    slack.fake.fail("chat.postMessage", "token_revoked")
    delivered = await deliver(slack.app.deps, slack.channel, concurrency=1)
    assert len(slack.fake.called("chat.postMessage")) == 1  # no point trying everyone else
    assert not delivered.sent
    waiting = await slack.app.deps.outbox.in_state(CheckInState.PLANNED)
    assert len(waiting) == len(planned)  # all still to send once the token is fixed
    later = await deliver(slack.app.deps, slack.channel)  # the token works again
    assert len(later.sent) == len(planned)

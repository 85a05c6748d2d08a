"""Deliver the outbox through a channel, and chase unanswered prompts once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.channels.base import Channel
from bot.core import checkins
from bot.core.deps import Deps
from bot.core.errors import IntegrationError
from bot.core.model import CheckIn, CheckInKind, CheckInState, KeyResult
from bot.core.prompts import Outcome

log = logging.getLogger("goalnudge.sender")
EXPIRED_TEXT = "⌛ This check-in expired without an answer — it shows as “no answer” in the digest."


@dataclass(frozen=True)
class Delivered:
    sent: tuple[CheckIn, ...] = ()
    failed: tuple[tuple[CheckIn, str], ...] = ()


async def deliver(deps: Deps, channel: Channel, limit: int = 500) -> Delivered:
    """Send every planned row; each is marked sent with the platform's message reference."""
    sent: list[CheckIn] = []
    failed: list[tuple[CheckIn, str]] = []
    krs: dict[str, KeyResult] = {}
    for row in await deps.outbox.claim(limit, deps.clock.now()):
        person = await deps.directory.person(row.person)
        if person is None or row.id is None:
            failed.append((row, "unknown person"))
            continue
        try:
            if row.kind is CheckInKind.NOTICE:
                ref = await channel.notify(person, str(row.payload.get("text", "")))
            else:
                krs = krs or {kr.key: kr for kr in await deps.directory.key_results()}
                ref = await channel.send(person, checkins.prompt_for(row, krs))
        except IntegrationError as exc:
            # Back to planned: the next round retries it; the unique key still forbids a copy.
            await deps.outbox.transition(
                row.id, CheckInState.SENDING, CheckInState.PLANNED, deps.clock.now()
            )
            failed.append((row, str(exc)))
            log.warning("could not deliver check-in %s: %s", row.id, exc)
            continue
        await deps.outbox.mark_sent(row.id, ref, deps.clock.now())
        sent.append(row)
    return Delivered(tuple(sent), tuple(failed))


async def chase(deps: Deps, channel: Channel) -> checkins.Chase:
    """Send the one reminder each stale prompt gets, and close expired prompts in place."""
    moved = await checkins.chase(deps)
    krs = {kr.key: kr for kr in await deps.directory.key_results()}
    for row in moved.reminded:
        person = await deps.directory.person(row.person)
        if person is not None:
            await channel.send(person, checkins.prompt_for(row, krs))
    for row in moved.expired:
        person = await deps.directory.person(row.person)
        if person is not None:
            await channel.replace(person, row.message_ref, Outcome(False, EXPIRED_TEXT))
    return moved


async def recover(deps: Deps, channel: Channel, claimed_before: datetime) -> int:
    """Rows a crashed sender left half-done: recorded as sent when the platform has the message,
    else planned again. Returns how many were recovered."""
    rows = await deps.outbox.in_state(CheckInState.SENDING, claimed_before)
    for row in rows:
        person = await deps.directory.person(row.person)
        if person is None or row.id is None:
            continue
        try:
            ref = await channel.find(person, row.id) if row.kind.is_prompt else None
        except IntegrationError:
            continue  # try again next round rather than risk a second message
        if ref:
            await deps.outbox.mark_sent(row.id, ref, deps.clock.now())
        else:
            await deps.outbox.transition(
                row.id, CheckInState.SENDING, CheckInState.PLANNED, deps.clock.now()
            )
    return len(rows)

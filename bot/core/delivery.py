"""Delivery: send the outbox through a channel, remind once then expire, settle maybe-sent rows."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime

from bot.core import checkins
from bot.core.channel import Channel
from bot.core.deps import Deps
from bot.core.errors import AuthError, IntegrationError, TransientError, Unconfirmed
from bot.core.model import CheckIn, CheckInKind, CheckInState, KeyResult
from bot.core.planned import NoticeText, items_of
from bot.core.prompts import Outcome
from bot.core.rich import Rich, rich

log = logging.getLogger("goalnudge.delivery")
EXPIRED_TEXT = "⌛ This check-in expired without an answer — it shows as “no answer” in the digest."


@dataclass(frozen=True)
class Delivered:
    sent: tuple[CheckIn, ...] = ()
    failed: tuple[tuple[CheckIn, str], ...] = ()
    unconfirmed: tuple[CheckIn, ...] = ()  # maybe delivered: settled by `recover`, not resent


BATCH = 200  # rows claimed, sent and recorded together: one transaction per batch, not per row
CONCURRENCY = 8  # sends in flight at once; the platform's Retry-After paces them when it must


async def deliver(
    deps: Deps, channel: Channel, limit: int | None = None, concurrency: int = CONCURRENCY
) -> Delivered:
    """Send planned rows until none is left (or `limit` were tried), `concurrency` at a time.

    Each batch is claimed, sent and then recorded sent in one transaction; a crash in between
    leaves rows `sending`, and a send cut off after the platform may have received it (a
    timeout, a 5xx) leaves its row `unconfirmed`: `recover` settles both from the platform's own
    history, never by sending again. Rows that fail for now stay claimed until the round ends,
    so one round tries each row once.
    """
    sent: list[CheckIn] = []
    failed: list[tuple[CheckIn, str]] = []
    unconfirmed: list[CheckIn] = []
    retry: list[int] = []
    try:
        while limit is None or (tried := len(sent) + len(failed) + len(unconfirmed)) < limit:
            size = BATCH if limit is None else min(BATCH, limit - tried)
            rows = await deps.outbox.claim(size, deps.clock.now())
            if not rows:
                break
            done, refused = await _send_batch(deps, channel, rows, concurrency)
            await deps.outbox.mark_sent_many(
                [(r.id, ref) for r, ref in done if r.id], deps.clock.now()
            )
            sent += [row for row, _ in done]
            deps.metrics.prompts("sent", sum(row.kind.is_prompt for row, _ in done))
            maybe = [row for row, exc in refused if isinstance(exc, Unconfirmed)]
            await deps.outbox.unconfirm([row.id for row in maybe if row.id])
            deps.metrics.prompts("unconfirmed", len(maybe))
            unconfirmed += maybe
            for row, exc in refused:
                if isinstance(exc, Unconfirmed):
                    continue
                failed.append((row, str(exc)))
                if row.id is None:
                    continue
                if isinstance(exc, TransientError | AuthError):
                    # The next round tries again; the unique key forbids a second copy.
                    retry.append(row.id)
                    deps.metrics.prompts("retried")
                else:
                    await deps.outbox.fail(row.id, str(exc), deps.clock.now())
                    deps.metrics.prompts("failed")
            if any(isinstance(exc, AuthError) for _, exc in refused):
                log.warning("the platform refused our credentials: sending stops for this round")
                break  # every other send would be refused too; the rows wait, planned
    finally:
        await deps.outbox.release(retry, deps.clock.now())
    return Delivered(tuple(sent), tuple(failed), tuple(unconfirmed))


async def _send_batch(
    deps: Deps, channel: Channel, rows: list[CheckIn], concurrency: int
) -> tuple[list[tuple[CheckIn, str | None]], list[tuple[CheckIn, IntegrationError]]]:
    people = {p.email: p for p in await deps.directory.people([r.person for r in rows])}
    krs = await key_results_of(deps, rows)
    slots = asyncio.Semaphore(concurrency)
    done: list[tuple[CheckIn, str | None]] = []
    refused: list[tuple[CheckIn, IntegrationError]] = []
    locked_out: list[AuthError] = []  # once our credentials are refused, nobody else is tried

    async def one(row: CheckIn) -> None:
        person = people.get(row.person)
        if person is None:
            refused.append((row, IntegrationError("goalnudge", "unknown person")))
            return
        async with slots:
            if locked_out:
                refused.append((row, locked_out[0]))
                return
            try:
                if row.kind is CheckInKind.NOTICE:
                    text = row.body.text if isinstance(row.body, NoticeText) else Rich()
                    ref = await channel.notify(person, text, checkin=row.id)
                else:
                    ref = await channel.send(person, checkins.prompt_for(row, krs))
            except IntegrationError as exc:
                log.warning("could not deliver check-in %s: %s", row.id, exc)
                refused.append((row, exc))
                if isinstance(exc, AuthError):
                    locked_out.append(exc)
                return
        done.append((row, ref))

    await asyncio.gather(*(one(row) for row in rows))
    return done, refused


async def key_results_of(deps: Deps, rows: list[CheckIn]) -> dict[str, KeyResult]:
    """The current state of the key results these prompts are about, to show fresh values."""
    keys = sorted({i.kr for r in rows for i in items_of(r.body)})
    return {kr.key: kr for kr in await deps.directory.key_results(keys=keys)} if keys else {}


@dataclass(frozen=True)
class Chase:
    reminded: tuple[CheckIn, ...] = ()
    expired: tuple[CheckIn, ...] = ()


async def chase(deps: Deps, channel: Channel) -> Chase:
    """One reminder for a prompt left unanswered, then expiry, each prompt closed in place; each
    row moves once. No send that fails here ends the round: a reminder the platform did not
    take for now is sent in a later round, and a prompt that could not be closed in place says
    it expired when clicked."""
    now = deps.clock.now()
    timing = deps.timing
    reminded: list[CheckIn] = []
    stale = [(CheckInState.SENT, now - timing.expire_after)]
    if timing.reminder_after is not None:
        due = await deps.outbox.in_state(CheckInState.SENT, now - timing.reminder_after)
        reminded = await _remind(deps, channel, [r for r in due if r.kind.is_prompt], now)
        # A reminder the platform kept refusing leaves its prompt `sent`: it expires as long
        # after the reminder was due as a reminded one does after its reminder.
        late = now - timing.reminder_after - timing.expire_after
        stale = [(CheckInState.REMINDED, now - timing.expire_after), (CheckInState.SENT, late)]
    expired: list[CheckIn] = []
    for state, before in stale:
        for row in await deps.outbox.in_state(state, before):
            if row.kind.is_prompt and await deps.outbox.transition(
                row.id or 0, state, CheckInState.EXPIRED, now
            ):
                expired.append(replace(row, state=CheckInState.EXPIRED, closed_at=now))
    for row in expired:
        person = await deps.directory.person(row.person)
        if person is None:
            continue
        try:
            await channel.replace(person, row.message_ref, Outcome(False, rich(EXPIRED_TEXT)))
        except IntegrationError as exc:
            log.warning("check-in %s expired; its message could not be closed: %s", row.id, exc)
    deps.metrics.prompts("reminded", len(reminded))
    deps.metrics.prompts("expired", len(expired))
    return Chase(tuple(reminded), tuple(expired))


async def _remind(
    deps: Deps, channel: Channel, rows: list[CheckIn], now: datetime
) -> list[CheckIn]:
    """Send the reminder of each row this process moves to `reminded` (so no other sends it)."""
    moved = [
        replace(row, state=CheckInState.REMINDED, reminded_at=now)
        for row in rows
        if await deps.outbox.transition(row.id or 0, CheckInState.SENT, CheckInState.REMINDED, now)
    ]
    krs = await key_results_of(deps, moved)
    reminded: list[CheckIn] = []
    locked_out: AuthError | None = None
    for row in moved:
        person = await deps.directory.person(row.person)
        try:
            if locked_out is not None:
                raise locked_out  # our credentials were refused: nobody else is tried now
            if person is not None:
                await channel.send(person, checkins.prompt_for(row, krs))
        except Unconfirmed as exc:  # maybe delivered: never sent twice
            log.warning(
                "reminder for check-in %s may or may not have been delivered: %s", row.id, exc
            )
        except (TransientError, AuthError) as exc:
            log.warning(
                "reminder for check-in %s not sent, tried again next round: %s", row.id, exc
            )
            locked_out = exc if isinstance(exc, AuthError) else locked_out
            # Back to `sent` with its send time kept: the next round reminds it again.
            back = row.sent_at or now
            await deps.outbox.transition(
                row.id or 0, CheckInState.REMINDED, CheckInState.SENT, back
            )
            continue
        except IntegrationError as exc:  # refused for good: the prompt still expires in time
            log.warning("reminder for check-in %s refused: %s", row.id, exc)
        reminded.append(row)
    return reminded


async def recover(deps: Deps, channel: Channel, claimed_before: datetime | None = None) -> int:
    """Settle rows that may already be delivered: `unconfirmed` ones (a send answered by a
    timeout or a 5xx) and `sending` ones claimed before `claimed_before` (a crash cut them off).

    The one rule for a maybe-sent row: it is recorded sent when the platform's history has its
    message, planned again only when the history shows it is not there, and never sent again on
    a guess. A lookup the platform does not allow now (its budget) waits for a later round, and
    so does the row; where the platform cannot list messages (Teams), the row is recorded sent
    without a reference. Returns how many rows were settled.
    """
    rows = await deps.outbox.in_state(CheckInState.UNCONFIRMED)
    if claimed_before is not None:
        rows += await deps.outbox.in_state(CheckInState.SENDING, claimed_before)
    found: list[tuple[int, str | None]] = []
    missing: list[int] = []
    for row in rows:
        person = await deps.directory.person(row.person)
        if person is None or row.id is None:
            continue
        try:
            ref = await channel.find(person, row.id, row.sent_at or row.created_at)
        except Unconfirmed as exc:
            log.warning("check-in %s may or may not have been delivered: %s", row.id, exc)
            found.append((row.id, None))
            continue
        except IntegrationError:
            continue  # looked up in a later round, within the platform's budget
        if ref:
            found.append((row.id, ref))
        else:
            missing.append(row.id)
    await deps.outbox.mark_sent_many(found, deps.clock.now())
    await deps.outbox.release(missing, deps.clock.now())
    deps.metrics.prompts("sent_unconfirmed", sum(ref is None for _, ref in found))
    return len(found) + len(missing)

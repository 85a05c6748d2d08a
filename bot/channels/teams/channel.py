"""Teams as a Channel: proactive cards through stored conversation references, paced and retried."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import aiohttp
from botbuilder.core import MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, Attachment, ConversationReference
from msrest.exceptions import ClientRequestError

from bot.channels.base import ApiStats
from bot.channels.teams import PLATFORM, cards, fit
from bot.channels.teams.markdown import markdown
from bot.channels.teams.refusals import Refusals
from bot.core.deps import SystemClock
from bot.core.digest import Digest, RollupNode
from bot.core.errors import AuthError, IntegrationError, TransientError, Unconfirmed
from bot.core.model import Person
from bot.core.ports import Clock, Conversations
from bot.core.prompts import Outcome, Prompt
from bot.core.rich import Rich

log = logging.getLogger("goalnudge.teams")
T = TypeVar("T")
RETRY_STATUSES = {429, 412, 502, 504}
# The connector refused the request before acting on it: a send may be tried again.
NOT_ACCEPTED = {429, 412, 503}
TIMEOUT = 10.0  # seconds one proactive send (token, connector call, retries) may take
WINDOWS = ((1.0, 7), (2.0, 8), (30.0, 60))  # Teams: per bot per conversation
# A 403 with one of these: Teams takes no message into the conversation until the person (or
# their admin) lets the bot back in, so posting stops rather than being retried.
REFUSALS = frozenset({"MessageWritesBlocked", "BotNotInConversationRoster", "BotDisabledByAdmin"})


class Pacer:
    """Keeps each conversation under Teams' limits: 7 per second, 8 per 2 s, 60 per 30 s."""

    def __init__(self, windows: tuple[tuple[float, int], ...] = WINDOWS) -> None:
        self.windows = windows
        self.sent: dict[str, deque[float]] = defaultdict(deque)
        self.locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def wait(self, conversation: str) -> None:
        async with self.locks[conversation]:
            stamps = self.sent[conversation]
            while True:
                now = time.monotonic()
                while stamps and now - stamps[0] > max(w for w, _ in self.windows):
                    stamps.popleft()
                delays = [
                    stamps[-limit] + window - now
                    for window, limit in self.windows
                    if len(stamps) >= limit
                ]
                if not delays or max(delays) <= 0:
                    break
                await asyncio.sleep(max(delays))
            stamps.append(time.monotonic())


def status_of(exc: BaseException | None) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) or getattr(response, "status", None)


def error_code(exc: BaseException | None) -> str | None:
    """The code of the connector's ErrorResponse body, e.g. "BotNotInConversationRoster"."""
    return getattr(getattr(getattr(exc, "error", None), "error", None), "code", None)


def refusal(exc: BaseException | None, updating: bool = False) -> str | None:
    """Why the connector will take no message into the conversation, or None: a 403 with a
    refusal code, or a 404 for the conversation (for an update, a 404 may be the message)."""
    status, code = status_of(exc), error_code(exc)
    gone = status == 404 and (not updating or code == "ConversationNotFound")
    if (status == 403 and code in REFUSALS) or gone:
        return f"{code or 'NotFound'} (HTTP {status})"
    return None


def refused(exc: BaseException | None) -> bool:
    """Whether the connection was refused, so the request never reached the connector."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ConnectionRefusedError | aiohttp.ClientConnectorError):
            return True
        inner = getattr(exc, "inner_exception", None)
        exc, seen = inner or exc.__cause__ or exc.__context__, seen + 1
    return False


def teams_error(exc: Exception, status: int | None, sending: bool = False) -> IntegrationError:
    """Network trouble and 5xx pass (the next round tries again); 401/403 from the connector
    mean our credentials; anything else (404: the conversation is gone) will not pass.
    `sending`: a new message, so a failure after the connector may have taken it (502, 504,
    other 5xx but 503, a reset or a timeout; not a refused connection) is `Unconfirmed`."""
    message = f"HTTP {status}: {exc}" if status else f"{type(exc).__name__}: {exc}"
    network = (aiohttp.ClientError, OSError, TimeoutError, ClientRequestError)
    taken = (status or 0) >= 500 and status not in NOT_ACCEPTED
    lost = not status and isinstance(exc, network) and not refused(exc)
    if sending and (taken or lost):
        return Unconfirmed("teams", message)
    if isinstance(exc, network) or (status or 0) >= 500:
        return TransientError("teams", message)
    if status == 401:
        return AuthError("teams", message)
    return IntegrationError("teams", message)


async def with_retries(
    call: Callable[[], Awaitable[T]],
    stats: ApiStats,
    op: str,
    attempts: int = 4,
    sending: bool = False,
    in_flight: list[bool] | None = None,
) -> T:
    """Retry what Teams says is transient (429, 412, 502, 504), honouring Retry-After; when
    `sending` a new message, only what the connector did not accept (429, 412). `in_flight`
    holds whether a request is on the wire now (a timeout then leaves the send unconfirmed)."""
    flag = in_flight if in_flight is not None else [False]
    for attempt in range(attempts):
        stats.calls[op] += 1
        try:
            flag[0] = True
            return await call()
        except Exception as exc:
            status = status_of(exc)
            if status == 429:
                stats.limited[op] += 1
            if status not in RETRY_STATUSES or (sending and status not in NOT_ACCEPTED):
                raise teams_error(exc, status, sending) from exc
            flag[0] = False
            headers = getattr(getattr(exc, "response", None), "headers", {}) or {}
            wait = float(headers.get("Retry-After") or 2**attempt * 0.5)
            if attempt == attempts - 1:
                raise TransientError("teams", f"HTTP {status}", wait) from exc
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


class TeamsChannel:
    """Message references are `CONVERSATION_ID|ACTIVITY_ID`, to update the card in place."""

    def __init__(
        self,
        adapter: CloudAdapter,
        app_id: str,
        conversations: Conversations,
        timeout: float = TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        self.adapter = adapter
        self.app_id = app_id
        self.conversations = conversations
        self.timeout = timeout
        self.refusals = Refusals(conversations, clock or SystemClock())
        self.pacer = Pacer()
        self.stats = ApiStats()

    async def _reference(self, *keys: str | None) -> ConversationReference:
        for key in filter(None, keys):
            stored = await self.conversations.get("teams", key)
            if stored is not None:
                return ConversationReference().deserialize(stored)
        raise IntegrationError("teams", f"goalnudge is not installed for {keys[0] or 'them'}")

    async def _post(
        self,
        key: str | None,
        activity: Activity,
        update_id: str | None = None,
        also: str | None = None,
        thread: str | None = None,
    ) -> str:
        reference = await self._reference(key, also)
        if thread and reference.conversation.id.startswith("19:"):  # a reply in a channel thread
            root = reference.conversation.id.split(";")[0]
            reference.conversation.id = f"{root};messageid={thread}"
        found: dict[str, str] = {}
        failed: list[IntegrationError] = []
        in_flight = [False]

        async def turn(ctx: TurnContext) -> None:
            # Errors are kept, not raised: the adapter's turn-error handler would swallow them.
            try:
                if update_id:
                    activity.id = update_id
                    await with_retries(
                        lambda: ctx.update_activity(activity), self.stats, "update_activity"
                    )
                    found["id"] = update_id
                else:
                    sent = await with_retries(
                        lambda: ctx.send_activity(activity),
                        self.stats,
                        "send_activity",
                        sending=True,
                        in_flight=in_flight,
                    )
                    found["id"] = sent.id
            except IntegrationError as exc:
                failed.append(exc)

        conversation = reference.conversation.id
        await self.pacer.wait(conversation)
        try:
            await asyncio.wait_for(
                self.adapter.continue_conversation(reference, turn, self.app_id), self.timeout
            )
        except TimeoutError as exc:
            # Only a request on the wire may have been delivered; a token fetch or a back-off
            # that ran out of time sent nothing.
            late = f"no answer within {self.timeout:g} s"
            maybe = in_flight[0] and not update_id
            raise (Unconfirmed if maybe else TransientError)("teams", late) from exc
        if failed:
            raise failed[0]
        return f"{conversation}|{found.get('id', '')}"

    async def _to_person(
        self, person: Person, activity: Activity, update_id: str | None = None
    ) -> str:
        """Post into the person's chat, unless Teams refused it for good (then remembered, so
        nothing is posted until they message the bot or install it again)."""
        key = person.ids.get(PLATFORM)
        if (why := await self.refusals.why(key)) is not None:
            raise IntegrationError("teams", why)
        try:
            return await self._post(key, activity, update_id)
        except IntegrationError as exc:
            why = refusal(exc.__cause__, updating=update_id is not None)
            if why is None or not key:
                raise
            await self.refusals.mark(key, why)
            log.warning("Teams refused messages to %s (%s): posting to them stops", key, why)
            raise IntegrationError("teams", why) from exc

    @staticmethod
    def _card(content: dict[str, Any]) -> Activity:
        return MessageFactory.attachment(
            Attachment(content_type=cards.CONTENT_TYPE, content=content)
        )

    async def send(self, person: Person, prompt: Prompt) -> str | None:
        return await self._to_person(person, self._card(cards.prompt_card(prompt)))

    async def find(self, person: Person, checkin: int, since: datetime) -> str | None:
        raise Unconfirmed("teams", "the Bot Connector cannot list a conversation's messages")

    async def notify(self, person: Person, text: Rich, checkin: int | None = None) -> str | None:
        return await self._to_person(person, MessageFactory.text(markdown(text)))

    async def replace(self, person: Person, message_ref: str | None, outcome: Outcome) -> None:
        activity_id = message_ref.split("|", 1)[1] if message_ref and "|" in message_ref else None
        if not activity_id:
            await self.notify(person, outcome.text)
            return
        await self._to_person(person, self._card(cards.outcome_card(outcome)), activity_id)

    async def _follow(
        self, ref: str, key: str | None, rest: list[cards.Card], also: str | None = None
    ) -> str:
        """The cards after a first one too big for a message: in its thread (a channel) or
        after it (a chat). Once the first is out it is never posted again."""
        for card in rest:
            try:
                await self._post(key, self._card(card), also=also, thread=ref.split("|", 1)[1])
            except IntegrationError as exc:
                log.warning("Teams: a follow-up of %s was not posted (%s)", ref, exc)
                break
        return ref

    async def post_digest(self, digest: Digest) -> str | None:
        first, *rest = fit.cards(cards.digest_card(digest))
        ref = await self._post(digest.channel, self._card(first), also=digest.team)
        return await self._follow(ref, digest.channel, rest, also=digest.team)

    async def post_rollup(self, person: Person, nodes: tuple[RollupNode, ...]) -> str | None:
        first, *rest = fit.cards(cards.rollup_card(nodes))
        ref = await self._to_person(person, self._card(first))
        return await self._follow(ref, person.ids.get(PLATFORM), rest)

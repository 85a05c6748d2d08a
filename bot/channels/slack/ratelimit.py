"""How the Slack client waits and retries: one pause per method on 429, retries only where a
second request cannot post a second message, and a budget for history lookups."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from aiohttp import ClientConnectorError, ClientOSError, ServerConnectionError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.base import ApiStats

DEFAULT_WAIT = 1.0  # seconds, when a 429 comes without Retry-After
HISTORY = "conversations.history"
# Methods a second request cannot turn into a second message, modal or post: reads, and
# updates that set the same content again. Everything else (chat.postMessage first) is sent
# once; an answer lost after Slack may have acted on it is settled by a lookup, not a retry.
IDEMPOTENT = frozenset(
    {
        "auth.test",
        "chat.getPermalink",
        "chat.update",
        "conversations.history",
        "conversations.open",
        "users.info",
        "users.lookupByEmail",
        "views.publish",
        "views.update",
    }
)


def method_of(request: HttpRequest) -> str:
    return request.url.rstrip("/").rsplit("/", 1)[-1]


class RetryAfterGate:
    """Per Web API method, closed until the latest Retry-After has passed.

    slack_sdk's own handler sleeps Retry-After plus up to a second of jitter in each request on
    its own, while the requests beside it go on hitting the limit. Here one 429 holds back every
    request to that method (Slack limits each method separately) for exactly as long as Slack
    asked, and they all resume together.
    """

    def __init__(self, stats: ApiStats) -> None:
        self.reopens: dict[str, float] = {}  # method → time.monotonic() it may be called again
        self.stats = stats

    def close(self, method: str, seconds: float) -> None:
        self.stats.limited[method] += 1
        self.reopens[method] = max(self.reopens.get(method, 0.0), time.monotonic() + seconds)

    def closed(self, method: str) -> bool:
        return self.reopens.get(method, 0.0) > time.monotonic()

    async def wait(self, method: str) -> None:
        while (delay := self.reopens.get(method, 0.0) - time.monotonic()) > 0:
            await asyncio.sleep(delay)


class GatedWebClient(AsyncWebClient):
    """An AsyncWebClient whose every call first waits for its method's gate to open."""

    def __init__(self, *args: Any, gate: RetryAfterGate, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = gate

    async def api_call(self, api_method: str, **kwargs: Any) -> Any:
        await self.gate.wait(api_method)
        self.gate.stats.calls[api_method] += 1
        return await super().api_call(api_method, **kwargs)


class GateRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 retry handler, waiting on a gate shared by the client's requests."""

    def __init__(self, gate: RetryAfterGate, max_retry_count: int = 5) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.gate = gate

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        limited = response is not None and response.status_code == 429
        if limited and method_of(request) == HISTORY and response is not None:
            # A history lookup never waits (the round goes on); the gate tells the next one.
            self.gate.close(HISTORY, wait_of(response))
            return False
        return limited

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            assert error is not None  # slack_sdk hands over one of the two
            raise error
        state.next_attempt_requested = True
        method = method_of(request)
        self.gate.close(method, wait_of(response))
        await self.gate.wait(method)
        state.increment_current_attempt()


def wait_of(response: HttpResponse) -> float:
    """The Retry-After of a 429, whatever the header's case."""
    headers = {k.lower(): v for k, v in response.headers.items()}
    return retry_after(headers.get("retry-after"))


def retry_after(values: list[str] | str | None) -> float:
    value = values[0] if isinstance(values, list) and values else values
    try:
        return max(0.0, float(value)) if isinstance(value, str) else DEFAULT_WAIT
    except ValueError:
        return DEFAULT_WAIT


class SafeRetryHandler(AsyncRetryHandler):
    """Retries a refused connection (nothing was sent) for any method, and a 5xx, a reset or a
    dropped connection only for IDEMPOTENT methods. Timeouts are never retried here."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if isinstance(error, ClientConnectorError):
            return True
        may_have_acted = (response is not None and response.status_code >= 500) or isinstance(
            error, ClientOSError | ServerConnectionError
        )
        return may_have_acted and method_of(request) in IDEMPOTENT


class Budget:
    """At most `calls` in any `window` seconds; never waits, says no instead."""

    def __init__(self, calls: int, window: float = 60.0) -> None:
        self.calls = calls
        self.window = window
        self.taken: deque[float] = deque()

    def take(self) -> bool:
        now = time.monotonic()
        while self.taken and now - self.taken[0] >= self.window:
            self.taken.popleft()
        if len(self.taken) >= self.calls:
            return False
        self.taken.append(now)
        return True

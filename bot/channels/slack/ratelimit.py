"""One pause for the whole client when Slack answers 429, instead of one per request."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.base import ApiStats

DEFAULT_WAIT = 1.0  # seconds, when a 429 comes without Retry-After


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

    async def wait(self, method: str) -> None:
        while (delay := self.reopens.get(method, 0.0) - time.monotonic()) > 0:
            await asyncio.sleep(delay)


class GatedWebClient(AsyncWebClient):
    """An AsyncWebClient whose every call first waits for its method's gate to open."""

    def __init__(self, *args: Any, gate: RetryAfterGate, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = gate

    async def api_call(self, api_method: str, **kwargs: Any) -> Any:  # type: ignore[override]
        await self.gate.wait(api_method)
        self.gate.stats.calls[api_method] += 1
        return await super().api_call(api_method, **kwargs)


class GateRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 retry handler, waiting on a gate shared by the client's requests."""

    def __init__(self, gate: RetryAfterGate, max_retry_count: int = 5) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.gate = gate

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error  # type: ignore[misc]
        state.next_attempt_requested = True
        headers = {k.lower(): v for k, v in response.headers.items()}
        method = request.url.rstrip("/").rsplit("/", 1)[-1]
        self.gate.close(method, retry_after(headers.get("retry-after")))
        await self.gate.wait(method)
        state.increment_current_attempt()


def retry_after(values: list[str] | str | None) -> float:
    value = values[0] if isinstance(values, list) and values else values
    try:
        return max(0.0, float(value)) if isinstance(value, str) else DEFAULT_WAIT
    except ValueError:
        return DEFAULT_WAIT

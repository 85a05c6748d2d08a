"""Wire-level fake of the Slack Web API that the real slack_sdk AsyncWebClient talks to."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["Call", "FakeSlack", "refusal"]

Json = dict[str, Any]


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)  # when the request arrived


def _maybe_json(value: Any) -> Any:
    """Decode a string holding a JSON list or object (e.g. blocks, view); else keep it."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def _error(error: str) -> Json:
    return {"ok": False, "error": error}


# Slack's documented limits (docs.slack.dev, Block Kit reference): 50 blocks in a message, 100 in
# a modal or Home tab; a section's or a context element's text at most 3,000 characters; a
# header's at most 150; a message's top-level text at most 40,000 (chat.postMessage msg_too_long).
MESSAGE_BLOCKS, VIEW_BLOCKS, SECTION_TEXT, HEADER_TEXT, MESSAGE_TEXT = 50, 100, 3000, 150, 40_000
MESSAGES = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")
VIEWS = ("views.open", "views.update", "views.push", "views.publish")


def _texts(block: Json) -> list[tuple[str, int]]:
    """Each text of a block with the most characters Slack takes for it."""
    kind = block.get("type")
    if kind == "header":
        return [(str(block.get("text", {}).get("text", "")), HEADER_TEXT)]
    if kind == "section":
        found = [(str((block.get("text") or {}).get("text", "")), SECTION_TEXT)]
        return found + [(str(f.get("text", "")), 2000) for f in block.get("fields") or []]
    if kind == "context":
        return [(str(e.get("text", "")), SECTION_TEXT) for e in block.get("elements", [])]
    return []


def refusal(method: str, params: dict[str, Any]) -> str | None:
    """The error Slack answers for what breaks its size limits, or None when it fits."""
    if method in VIEWS:
        view = _maybe_json(params.get("view"))
        blocks, most = (view.get("blocks") or [] if isinstance(view, dict) else []), VIEW_BLOCKS
    elif method in MESSAGES:
        blocks, most = _maybe_json(params.get("blocks")) or [], MESSAGE_BLOCKS
        if len(str(params.get("text") or "")) > MESSAGE_TEXT:
            return "msg_too_long"
    else:
        return None
    if not isinstance(blocks, list) or len(blocks) > most:
        return "invalid_blocks"
    if any(len(text) > limit for block in blocks for text, limit in _texts(block)):
        return "invalid_blocks"
    return None


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.users: dict[str, Json] = {}
        self._scripted: dict[str, list[tuple[int, Json, dict[str, str]]]] = {}
        self._rate: float | None = None
        self._tokens = 0.0
        self._filled_at = 0.0
        self._ts = itertools.count(1)
        self._view_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.sockets: list[web.WebSocketResponse] = []
        self.history: dict[str, list[Json]] = {}  # channel -> messages, newest first
        self.delay = 0.0
        self.acks: list[Json] = []
        self.workspaces: dict[str, Json] = {}  # bot token → the workspace it belongs to
        self.codes: dict[str, str] = {}  # OAuth code → the bot token it is exchanged for
        self._after_post: list[tuple[int, float]] = []  # (status, seconds) see post_then()
        self._history_limit: tuple[int, float, int] | None = None  # see limit_history()
        self._history_calls: dict[str | None, list[float]] = {}
        self._port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/hooks/{path:.*}", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, then collect the app's acks of the envelopes we push."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {},
                "connection_info": {"app_id": "A1"},
            }
        )
        async for message in ws:
            if message.type == web.WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
        return ws

    async def push(self, kind: str, payload: Json, envelope_id: str) -> Json:
        """Send one Socket Mode envelope to the connected app; return its ack (bounded wait)."""
        for _ in range(1000):
            if self.sockets:
                break
            await asyncio.sleep(0.01)
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": True,
            }
        )
        for _ in range(1000):
            for ack in self.acks:
                if ack.get("envelope_id") == envelope_id:
                    return ack
            await asyncio.sleep(0.01)
        raise AssertionError(f"no ack for envelope {envelope_id}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/api/"

    @property
    def hooks(self) -> str:
        """Where response_urls point at this fake (Slack's are on hooks.slack.com)."""
        return f"http://127.0.0.1:{self._port}/hooks"

    async def _hook(self, request: web.Request) -> web.Response:
        """A response_url post: recorded as `response_url`, with the URL's path as `path`."""
        body = await request.json()
        await asyncio.sleep(self.delay)
        self.calls.append(Call("response_url", body | {"path": request.match_info["path"]}, None))
        if refused := refusal("response_url", body):
            return web.json_response(_error(refused), status=400)
        return web.Response(text="ok")

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def add_user(
        self, user_id: str, email: str, tz: str = "UTC", name: str | None = None, team: str = "T1"
    ) -> Json:
        name = name or email.split("@")[0]
        profile = {"email": email, "real_name": name, "status_text": "", "status_emoji": ""}
        user = {"id": user_id, "team_id": team, "name": name, "real_name": name, "tz": tz}
        self.users[user_id] = user | {"deleted": False, "is_bot": False, "profile": profile}
        return self.users[user_id]

    def add_workspace(self, team_id: str, name: str, token: str, code: str) -> None:
        """A workspace whose admin approves the install: Slack redirects back with `code`, and
        oauth.v2.access exchanges it for the workspace's bot `token`."""
        self.workspaces[token] = {"team_id": team_id, "team": name}
        self.codes[code] = token

    def fail(self, method: str, error: str, times: int = 1) -> None:
        self._scripted.setdefault(method, []).extend([(200, _error(error), {})] * times)

    def rate_limit(self, method: str, retry_after: int, times: int = 1) -> None:
        reply = (429, _error("ratelimited"), {"Retry-After": str(retry_after)})
        self._scripted.setdefault(method, []).extend([reply] * times)

    def post_then(self, status: int = 200, seconds: float = 0.0, times: int = 1) -> None:
        """The next `times` chat.postMessage calls post the message, then wait `seconds` and
        answer `status`: 503 is Slack failing after it posted (an HTML error page, as a proxy
        sends), a wait past the client's timeout is an answer that comes too late."""
        self._after_post.extend([(status, seconds)] * times)

    def limit_history(self, calls: int = 1, window: float = 60.0, messages: int = 15) -> None:
        """conversations.history as Slack limits it since 2025-05-29 for distributed apps not
        in the Marketplace: `calls` per `window` seconds per workspace token (then 429 with
        Retry-After), and at most `messages` per call (has_more says when there are more)."""
        self._history_limit = (calls, window, messages)

    def _history_refusal(self, token: str | None) -> str | None:
        """None when the history call may go; else the Retry-After to answer."""
        if self._history_limit is None:
            return None
        calls, window, _ = self._history_limit
        now = time.monotonic()
        recent = [t for t in self._history_calls.get(token, []) if now - t < window]
        if len(recent) >= calls:
            self._history_calls[token] = recent
            return str(max(1, math.ceil(window - (now - recent[0]))))
        self._history_calls[token] = [*recent, now]
        return None

    def throttle(self, calls_per_second: float | None) -> None:
        """Rate-limit chat.postMessage as Slack does (None: off): a bucket of one second's calls,
        refilled continuously, so bursts pass; past it 429 with a whole-second Retry-After."""
        self._rate = calls_per_second
        self._tokens = calls_per_second or 0.0
        self._filled_at = time.monotonic()

    def _take_token(self) -> str | None:
        """None when the call may go; else the Retry-After to answer."""
        assert self._rate is not None
        now = time.monotonic()
        self._tokens = min(self._rate, self._tokens + (now - self._filled_at) * self._rate)
        self._filled_at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return str(max(1, math.ceil((1 - self._tokens) / self._rate)))

    def _next_ts(self) -> str:
        micros = 1_700_000_000_000_000 + next(self._ts) * 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = {k: _maybe_json(v) for k, v in request.query.items()}
        if request.content_type == "application/json":
            params.update({k: _maybe_json(v) for k, v in (await request.json()).items()})
        elif request.can_read_body:
            form = await request.post()
            params.update({k: _maybe_json(v) for k, v in form.items() if isinstance(v, str)})
        auth = request.headers.get("Authorization", "")
        form_token = params.pop("token", None)
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else form_token
        self.calls.append(Call(method, params, token))

        if self._scripted.get(method):
            status, body, headers = self._scripted[method].pop(0)
            return web.json_response(body, status=status, headers=headers)
        if method == "chat.postMessage" and self.delay:
            await asyncio.sleep(self.delay)  # a slow Slack widens the window a crash can hit
        if method == "chat.postMessage" and self._rate is not None and (wait := self._take_token()):
            headers = {"Retry-After": wait}
            return web.json_response(_error("ratelimited"), status=429, headers=headers)
        if method == "conversations.history" and (wait := self._history_refusal(token)):
            headers = {"Retry-After": wait}
            return web.json_response(_error("ratelimited"), status=429, headers=headers)
        if refused := refusal(method, params):
            return web.json_response(_error(refused))
        answer = self._answer(method, params, token)
        if method == "chat.postMessage" and self._after_post:
            status, seconds = self._after_post.pop(0)
            await asyncio.sleep(seconds)
            if status >= 500:
                return web.Response(status=status, text="<html>Service Unavailable</html>",
                                    content_type="text/html")  # fmt: skip
        return web.json_response(answer)

    def _answer(self, method: str, p: dict[str, Any], token: str | None) -> Json:
        channel = str(p.get("channel", ""))
        team = self.workspaces.get(str(token), {"team_id": "T1", "team": "Acme"})
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "B1",
                    "url": "https://acme.slack.com/"} | team  # fmt: skip
        if method == "oauth.v2.access":
            installed = self.codes.get(str(p.get("code")))
            if installed is None:
                return _error("invalid_code")
            team = self.workspaces[installed]
            return {"ok": True, "app_id": "A1", "authed_user": {"id": "UADMIN"},
                    "scope": "chat:write,commands", "token_type": "bot", "access_token": installed,
                    "bot_user_id": "UBOT", "team": {"id": team["team_id"], "name": team["team"]},
                    "enterprise": None, "is_enterprise_install": False}  # fmt: skip
        if method == "chat.postMessage":
            ts = self._next_ts()
            if channel[:1] not in ("C", "D", "G"):
                channel = "D" + channel
            message = {"type": "message", "user": "UBOT", "bot_id": "B1", "ts": ts,
                       "text": p.get("text", ""), "blocks": p.get("blocks", [])}  # fmt: skip
            if p.get("metadata"):
                message["metadata"] = _maybe_json(p["metadata"])
            self.history.setdefault(channel, []).insert(0, message)
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "conversations.history":
            limit = int(p.get("limit", 100))
            if self._history_limit is not None:
                limit = min(limit, self._history_limit[2])
            messages = self.history.get(channel, [])
            return {"ok": True, "messages": messages[:limit], "has_more": len(messages) > limit}
        if method == "chat.update":
            message = {"text": p.get("text", ""), "blocks": p.get("blocks", [])}
            return {"ok": True, "channel": channel, "ts": p.get("ts"), "message": message}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "chat.getPermalink":
            ts = str(p.get("message_ts", "")).replace(".", "")
            return {"ok": True, "permalink": f"https://acme.slack.com/archives/{channel}/p{ts}"}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(p.get("users", "")).split(",")[0]}}
        if method in ("views.open", "views.update", "views.push", "views.publish"):
            view = _maybe_json(p.get("view"))
            view_id = p.get("view_id") or f"V{next(self._view_ids):04d}"
            return {"ok": True, "view": {**(view if isinstance(view, dict) else {}), "id": view_id}}
        if method == "users.info":
            user = self.users.get(str(p.get("user")))
            if user is None or user["team_id"] != team["team_id"]:
                return _error("user_not_found")
            return {"ok": True, "user": user}
        if method == "users.lookupByEmail":
            email = str(p.get("email", "")).lower()
            found = [
                u
                for u in self.users.values()
                if u["profile"]["email"].lower() == email and u["team_id"] == team["team_id"]
            ]
            return {"ok": True, "user": found[0]} if found else _error("users_not_found")
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self._port}/socket"}
        return {"ok": True}

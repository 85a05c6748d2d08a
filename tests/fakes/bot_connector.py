"""Wire-level fake of the Bot Framework Connector REST API that botbuilder's connector calls."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

from aiohttp import web
from fakes.threaded import ThreadedServer

__all__ = ["MESSAGE_BYTES", "FakeConnector", "Op", "Sent", "too_big"]

Json = dict[str, Any]
Op = Literal["create", "send", "reply", "update", "delete"]
CONV = "/v3/conversations/{conversation_id}"
# Teams refuses a bot message over about 100 KB, counted as UTF-16 ("Format your bot messages",
# learn.microsoft.com): 413 with the code MessageSizeTooBig. (The 28 KB Adaptive Card figure is
# a card's own; the bot message limit is the one the Bot Connector enforces.)
MESSAGE_BYTES = 100 * 1024


def too_big(activity: Json) -> bool:
    return len(json.dumps(activity, ensure_ascii=False).encode("utf-16-le")) > MESSAGE_BYTES


@dataclass(frozen=True)
class Sent:
    op: Op
    conversation_id: str
    activity_id: str | None
    body: Json
    authorized: bool  # the request carried an Authorization header
    status: int = 200  # what the fake answered (see fail())


# What the connector says beside the codes Teams documents for a conversation it will not post to.
MESSAGES = {
    "BotNotInConversationRoster": "The bot isn't part of the conversation roster.",
    "BotDisabledByAdmin": "The tenant admin disabled this bot.",
    "MessageWritesBlocked": "Thread is blocked from message writes.",
    "ConversationNotFound": "Conversation not found.",
}


def _error(status: int, code: str = "") -> web.Response:
    """The connector's ErrorResponse body; code defaults to the status phrase, e.g. "BadGateway"."""
    code = code or HTTPStatus(status).phrase.replace(" ", "")
    body = {"error": {"code": code, "message": MESSAGES.get(code, code)}}
    return web.json_response(body, status=status)


class FakeConnector(ThreadedServer):
    """Serves on its own thread and event loop: TeamsInfo's team calls use a blocking client."""

    name = "fake-bot-connector"

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Sent] = []
        self.members: dict[str, list[Json]] = {}
        self.teams: dict[str, Json] = {}
        self._failures: dict[str, list[tuple[int, int | None, str]]] = {}
        self._after_send: list[int] = []  # statuses, see send_then_fail()
        self.hung: dict[str, float] = {}  # conversation id → seconds, see hang_after_delivery()
        self._hangs: dict[str, float] = {}  # op → seconds each such request is held, see hang()
        self._ids = itertools.count(1)
        self._conversations = itertools.count(1)

    def release(self) -> None:
        self._hangs.clear()  # held requests answer now, so the server can stop

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post(CONV + "/activities", self._activity)
        app.router.add_route("*", CONV + "/activities/{activity_id}", self._activity)
        app.router.add_get(CONV + "/members", self._roster)
        app.router.add_get(CONV + "/pagedmembers", self._paged)
        app.router.add_get(CONV + "/members/{member_id}", self._member)
        app.router.add_get("/v3/teams/{team_id}/conversations", self._channels)
        app.router.add_get("/v3/teams/{team_id}", self._team)

    @property
    def url(self) -> str:
        """A serviceUrl for inbound activities."""
        return f"http://127.0.0.1:{self.port}/"

    def of(self, op: Op) -> list[Sent]:
        """The successful requests of one kind, oldest first."""
        return [s for s in self.sent if s.op == op and s.status < 300]

    def add_member(
        self, conversation_id: str, id: str, name: str, email: str, aad_object_id: str
    ) -> Json:
        """Put a user on a conversation's (or team's) roster, shaped like a TeamsChannelAccount."""
        given, _, surname = name.partition(" ")
        member = {"id": id, "name": name, "givenName": given, "surname": surname or None,
                  "email": email, "userPrincipalName": email.lower(),
                  "aadObjectId": aad_object_id, "userRole": "user"}  # fmt: skip
        self.members.setdefault(conversation_id, []).append(member)
        return member

    def add_team(self, team_id: str, name: str, channels: dict[str, str] | None = None) -> Json:
        """Team details; channels maps id to name (the General channel's id is the team id)."""
        listed = [{"id": team_id, "name": None}] + [
            {"id": cid, "name": cname} for cid, cname in (channels or {}).items()
        ]
        self.teams[team_id] = {"id": team_id, "name": name, "aadGroupId": f"group-{team_id}",
                               "channelCount": len(listed), "channels": listed}  # fmt: skip
        return self.teams[team_id]

    def fail(
        self,
        op: str,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        code: str = "",
    ) -> None:
        """Answer the next `times` requests of op (a Sent op, or "members", "member", "team",
        "channels") with status, e.g. 429 with a Retry-After header, 412, 502 or 504, or 403
        with the error code Teams gives, e.g. "BotNotInConversationRoster"."""
        self._failures.setdefault(op, []).extend([(status, retry_after, code)] * times)

    def send_then_fail(self, status: int = 502, times: int = 1) -> None:
        """The next `times` new messages (send or reply) are delivered into the conversation,
        then answered with `status` (a gateway losing the connector's answer: 502, 504). They
        are recorded as delivered (status 200): the person sees them."""
        self._after_send.extend([status] * times)

    def hang_after_delivery(self, conversation_id: str, seconds: float) -> None:
        """Messages into one conversation are delivered but answered only after `seconds`."""
        self.hung[conversation_id] = seconds

    def hang(self, op: str, seconds: float) -> None:
        """Hold every request of op (a Sent op) that long before answering: a hung connector."""
        self._hangs[op] = seconds

    async def _held(self, op: str) -> None:
        deadline = time.monotonic() + self._hangs.get(op, 0.0)
        while self._hangs.get(op) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    def _failure(self, op: str) -> web.Response | None:
        if not self._failures.get(op):
            return None
        status, retry_after, code = self._failures[op].pop(0)
        response = _error(status, code)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    def _record(self, op: Op, request: web.Request, conversation_id: str, activity_id: str | None,
                body: Json, status: int = 200) -> None:  # fmt: skip
        authorized = "Authorization" in request.headers
        self.sent.append(Sent(op, conversation_id, activity_id, body, authorized, status))

    async def _create(self, request: web.Request) -> web.Response:
        params: Json = await request.json()
        if failed := self._failure("create"):
            self._record("create", request, "", None, params, failed.status)
            return failed
        if too_big(params.get("activity") or {}):
            self._record("create", request, "", None, params, 413)
            return _error(413, "MessageSizeTooBig")
        channel = ((params.get("channelData") or {}).get("channel") or {}).get("id")
        activity_id = f"act-{next(self._ids)}" if params.get("activity") else None
        if channel and activity_id:  # a new thread in a Teams channel
            conversation_id = f"{channel};messageid={activity_id}"
        else:
            conversation_id = f"a:conv-{next(self._conversations)}"
        self._record("create", request, conversation_id, activity_id, params)
        answer = {"id": conversation_id, "serviceUrl": self.url}
        return web.json_response(answer | ({"activityId": activity_id} if activity_id else {}))

    async def _activity(self, request: web.Request) -> web.Response:
        conversation_id = request.match_info["conversation_id"]
        activity_id = request.match_info.get("activity_id")
        ops: dict[str, Op] = {"POST": "reply" if activity_id else "send", "PUT": "update",
                              "DELETE": "delete"}  # fmt: skip
        if request.method not in ops:
            return _error(405)
        op = ops[request.method]
        body: Json = await request.json() if request.can_read_body else {}
        await self._held(op)
        if failed := self._failure(op):
            self._record(op, request, conversation_id, activity_id, body, failed.status)
            return failed
        if op != "delete" and too_big(body):
            self._record(op, request, conversation_id, activity_id, body, 413)
            return _error(413, "MessageSizeTooBig")
        if op in ("send", "reply"):
            activity_id = f"act-{next(self._ids)}"
        self._record(op, request, conversation_id, activity_id, body)
        if op in ("send", "reply"):
            await asyncio.sleep(self.hung.get(conversation_id, 0.0))
            if self._after_send:
                return _error(self._after_send.pop(0))
        return web.json_response({} if op == "delete" else {"id": activity_id})

    def _roster_of(self, conversation_id: str) -> list[Json] | None:
        """A channel thread ("19:…;messageid=…") has its channel's roster; None: no roster."""
        return self.members.get(conversation_id) or self.members.get(conversation_id.split(";")[0])

    async def _roster(self, request: web.Request) -> web.Response:
        if failed := self._failure("members"):
            return failed
        roster = self._roster_of(request.match_info["conversation_id"])
        return _error(404, "ConversationNotFound") if roster is None else web.json_response(roster)

    async def _paged(self, request: web.Request) -> web.Response:
        if failed := self._failure("members"):
            return failed
        roster = self._roster_of(request.match_info["conversation_id"])
        if roster is None:
            return _error(404, "ConversationNotFound")
        start = int(request.query.get("continuationToken") or 0)
        end = start + int(request.query.get("pageSize") or 500)
        token = str(end) if end < len(roster) else None
        return web.json_response({"members": roster[start:end], "continuationToken": token})

    async def _member(self, request: web.Request) -> web.Response:
        if failed := self._failure("member"):
            return failed
        member_id = request.match_info["member_id"]
        roster = self._roster_of(request.match_info["conversation_id"])
        if roster is None:  # TeamsActivityHandler tolerates this code, not a missing member
            return _error(404, "ConversationNotFound")
        found = [m for m in roster if member_id in (m["id"], m["aadObjectId"])]
        return web.json_response(found[0]) if found else _error(404, "MemberNotFoundInConversation")

    async def _team(self, request: web.Request) -> web.Response:
        if failed := self._failure("team"):
            return failed
        team = self.teams.get(request.match_info["team_id"])
        if team is None:
            return _error(404)
        details = {k: v for k, v in team.items() if k != "channels"}
        members = len(self.members.get(team["id"], []))
        return web.json_response(details | {"memberCount": members, "type": "standard"})

    async def _channels(self, request: web.Request) -> web.Response:
        if failed := self._failure("channels"):
            return failed
        team = self.teams.get(request.match_info["team_id"])
        if team is None:
            return _error(404)
        return web.json_response({"conversations": team["channels"]})

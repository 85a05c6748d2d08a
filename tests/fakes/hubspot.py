"""Wire-level fake of HubSpot's CRM deal search and owners APIs, with their limits and 429s."""

from __future__ import annotations

import functools
import itertools
import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from fakes.threaded import ThreadedServer

__all__ = ["FakeHubSpot"]

Json = dict[str, Any]
MAX_GROUPS, MAX_FILTERS, MAX_GROUP_FILTERS, MAX_VALUES = 5, 25, 10, 100
MAX_LIMIT, MAX_RESULTS, MAX_OWNERS_PAGE, DAILY = 200, 10_000, 500, 500_000
NUMERIC, DATES = {"hs_object_id", "amount", "amount_in_home_currency"}, {"closedate", "createdate"}
STAMP = "2026-09-01T09:00:00.000Z"
UNAUTHORIZED = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
    "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


class Invalid(Exception):
    pass


@functools.cache
def _comparable(name: str, value: Any) -> Any:
    if value is None:
        return None
    text = str(value)
    if name in DATES:
        if text.isdigit():
            return int(text)
        return int(datetime.fromisoformat(text).timestamp() * 1000)
    if name in NUMERIC:
        return float(text)
    return text.casefold()  # HubSpot compares enumerations and booleans ignoring case


def _predicate(f: Json) -> Callable[[Json], bool]:
    """One filter of a search as a test on a deal's properties."""
    name, op = f.get("propertyName"), f.get("operator")
    if not name or not op:
        raise Invalid("filter needs propertyName and operator")
    if op in ("IN", "NOT_IN"):
        values = f.get("values") or []
        if len(values) > MAX_VALUES:
            raise Invalid(f"at most {MAX_VALUES} values in an {op} filter, got {len(values)}")
        wanted = {_comparable(name, v) for v in values}
        return lambda d: (_comparable(name, d.get(name)) in wanted) == (op == "IN")
    if op == "HAS_PROPERTY":
        return lambda d: d.get(name) is not None
    want, high = _comparable(name, f.get("value")), _comparable(name, f.get("highValue"))
    tests: dict[str, Callable[[Any], bool]] = {
        "EQ": lambda v: v == want, "NEQ": lambda v: v != want, "GT": lambda v: v > want,
        "GTE": lambda v: v >= want, "LT": lambda v: v < want, "LTE": lambda v: v <= want,
        "BETWEEN": lambda v: want <= v <= high,
    }  # fmt: skip
    if op not in tests:
        raise Invalid(f"unsupported operator {op}")
    test = tests[op]
    return lambda d: (v := _comparable(name, d.get(name))) is not None and test(v)


class FakeHubSpot(ThreadedServer):
    """Deals and owners as HubSpot serves them to a private app's token."""

    name = "fake-hubspot"

    def __init__(self, token: str = "pat-na1-fake") -> None:
        super().__init__()
        self.token = token
        self.deals: list[Json] = []
        self.owners: list[Json] = []
        self.calls: list[tuple[str, Json]] = []  # (method path, JSON body or query) per request
        self.times: list[float] = []  # when each request arrived (monotonic)
        self.secondly: int | None = None  # answer 429 past this many requests in one second
        self._failures: deque[int] = deque()
        self._ids = itertools.count(1001)
        self._searches: dict[str, list[Json]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_owner(self, email: str, owner_id: str | None = None) -> str:
        oid = owner_id or str(70_000_000 + len(self.owners))
        first, _, last = email.split("@")[0].partition(".")
        self.owners.append({"id": oid, "email": email, "firstName": first.title(),
                            "lastName": last.title(), "userId": int(oid[-6:], 36) % 10**8,
                            "createdAt": STAMP, "updatedAt": STAMP, "archived": False,
                            "type": "PERSON", "teams": []})  # fmt: skip
        return oid

    def add_deal(
        self,
        owner: str,
        amount: float,
        closed: str,
        *,
        name: str | None = None,
        won: bool = True,
        pipeline: str = "default",
        deal_type: str = "newbusiness",
    ) -> str:
        deal_id = str(next(self._ids))
        self.deals.append({
            "hs_object_id": deal_id, "dealname": name or f"Deal {deal_id}", "amount": str(amount),
            "closedate": f"{closed}T15:30:00Z", "hubspot_owner_id": owner, "pipeline": pipeline,
            "dealstage": "closedwon" if won else "closedlost", "dealtype": deal_type,
            "hs_is_closed_won": "true" if won else "false", "createdate": STAMP,
        })  # fmt: skip
        return deal_id

    def fail_next(self, status: int = 429, times: int = 1) -> None:
        self._failures.extend([status] * times)

    def searches(self) -> list[Json]:
        return [body for path, body in self.calls if path.endswith("/deals/search")]

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/crm/v3/objects/deals/search", self._search)
        app.router.add_get("/crm/v3/owners/", self._owners)
        app.router.add_get("/crm/v3/owners", self._owners)

    def _headers(self) -> dict[str, str]:
        left = max(DAILY - len(self.calls), 0)
        return {"X-HubSpot-RateLimit-Daily": str(DAILY),
                "X-HubSpot-RateLimit-Daily-Remaining": str(left),
                "X-HubSpot-Correlation-Id": str(uuid.uuid4())}  # fmt: skip

    def _refusal(self, request: web.Request, body: Json) -> web.Response | None:
        self.calls.append((f"{request.method} {request.path}", body))
        now = time.monotonic()
        self.times.append(now)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._error(401, UNAUTHORIZED, "INVALID_AUTHENTICATION")
        recent = sum(1 for t in self.times if now - t < 1.0)
        if self._failures or (self.secondly is not None and recent > self.secondly):
            status = self._failures.popleft() if self._failures else 429
            if status != 429:
                return self._error(status, "internal error", "INTERNAL_ERROR")
            return web.json_response(
                {"status": "error", "message": "You have reached your secondly limit.",
                 "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()),
                 "policyName": "SECONDLY"},
                status=429,
                headers=self._headers() | {"X-HubSpot-RateLimit-Secondly": str(self.secondly or 5),
                                           "X-HubSpot-RateLimit-Secondly-Remaining": "0"},
            )  # fmt: skip
        return None

    def _error(self, status: int, message: str, category: str) -> web.Response:
        body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
                "category": category}  # fmt: skip
        return web.json_response(body, status=status, headers=self._headers())

    async def _search(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (refused := self._refusal(request, body)) is not None:
            return refused
        try:
            return web.json_response(self._answer(body), headers=self._headers())
        except Invalid as exc:
            return self._error(400, str(exc), "VALIDATION_ERROR")

    def _answer(self, body: Json) -> Json:
        groups = body.get("filterGroups") or []
        filters = sum((len(g.get("filters") or []) for g in groups), 0)
        if (
            len(groups) > MAX_GROUPS
            or filters > MAX_FILTERS
            or any(len(g.get("filters") or []) > MAX_GROUP_FILTERS for g in groups)
        ):
            raise Invalid("too many filter groups or filters")
        limit, after = int(body.get("limit") or 10), int(body.get("after") or 0)
        if limit > MAX_LIMIT:
            raise Invalid(f"limit must be at most {MAX_LIMIT}")
        if after + limit > MAX_RESULTS:
            raise Invalid(f"the search reaches at most {MAX_RESULTS} results")
        found = self._found(groups, body.get("sorts") or [])
        wanted = body.get("properties") or ["dealname", "amount", "closedate", "dealstage"]
        page = found[after : after + limit]
        answer: Json = {"total": len(found), "results": [
            {"id": d["hs_object_id"], "archived": False, "createdAt": STAMP, "updatedAt": STAMP,
             "properties": {p: d.get(p) for p in [*wanted, "hs_object_id", "createdate"]}}
            for d in page]}  # fmt: skip
        if after + limit < len(found):
            answer["paging"] = {"next": {"after": str(after + limit)}}
        return answer

    def _found(self, groups: list[Json], sorts: list[Any]) -> list[Json]:
        """The matching deals in order; kept while the deals stay as they are (paging reads
        one search many times)."""
        key = json.dumps([len(self.deals), groups, sorts], sort_keys=True)
        if key in self._searches:
            return self._searches[key]
        tests = [[_predicate(f) for f in g.get("filters") or []] for g in groups]
        found = [d for d in self.deals if not tests or any(all(t(d) for t in g) for g in tests)]
        for sort in reversed(sorts):
            name = sort["propertyName"] if isinstance(sort, dict) else sort.lstrip("-")
            down = (sort.get("direction") == "DESCENDING") if isinstance(sort, dict) else (
                sort.startswith("-"))  # fmt: skip
            found.sort(key=lambda d: _comparable(name, d.get(name)) or 0, reverse=down)
        self._searches = {key: found}
        return found

    async def _owners(self, request: web.Request) -> web.Response:
        if (refused := self._refusal(request, dict(request.query))) is not None:
            return refused
        limit = min(int(request.query.get("limit", 100)), MAX_OWNERS_PAGE)
        after = int(request.query.get("after", 0))
        email = request.query.get("email")
        found = [o for o in self.owners if not email or o["email"] == email]
        answer: Json = {"results": found[after : after + limit]}
        if after + limit < len(found):
            link = f"{self.url}/crm/v3/owners/?after={after + limit}"
            answer["paging"] = {"next": {"after": str(after + limit), "link": link}}
        return web.json_response(answer, headers=self._headers())

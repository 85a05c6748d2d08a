"""Wire-level fake of Jira Cloud / Data Center REST that the real `jira` client talks to."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from datetime import datetime
from typing import Any, Literal

from aiohttp import BasicAuth, web

__all__ = ["FakeJira"]

Json = dict[str, Any]
API = "/rest/api/2"
CATEGORIES = {"done": (3, "Done"), "indeterminate": (4, "In Progress"), "new": (2, "To Do")}
IMPEDIMENT = {"value": "Impediment", "id": "10019"}
_CF_PLUGIN = "com.atlassian.jira.plugin.system.customfieldtypes"
NO_ISSUE = "Issue does not exist or you do not have permission to see it."
UNAUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
GONE = "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."
CANNOT_SET = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
_JQL = re.compile(
    r'^\s*(key|issuekey|parent|"epic link")\s+in\s*\((.*)\)'
    r"\s*(order\s+by\s+key(?:\s+(asc|desc))?)?\s*$",
    re.IGNORECASE,
)
# One value of a JQL list: a quoted string (backslash escapes) or a bare word like PAY-12.
_VALUE = r'\s*("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[A-Za-z0-9_.-]+)\s*'
_LIST = re.compile(f"{_VALUE}(?:,{_VALUE})*")


def _values(text: str) -> list[str] | None:
    """The values of a JQL list as Jira reads them, or None when it is not a list of values."""
    if _LIST.fullmatch(text) is None:
        return None
    found = [m.group(1) for m in re.finditer(_VALUE + "(?:,|$)", text)]
    return [re.sub(r"\\(.)", r"\1", v[1:-1]) if v[0] in "\"'" else v for v in found]


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        {"errorMessages": [message], "errors": {}}, status=status, headers=headers
    )


def _key_order(key: str) -> tuple[str, int]:
    project, _, number = key.rpartition("-")
    return (project, int(number)) if number.isdigit() else (key, 0)


def _field(fid: str, name: str, schema: Json, *clauses: str) -> Json:
    return {
        **{"id": fid, "key": fid, "name": name, "custom": fid.startswith("customfield_")},
        **{"orderable": True, "navigable": True, "searchable": True},
        **{"clauseNames": [*clauses] or [fid], "schema": schema},
    }


def _custom(fid: str, name: str, kind: str, items: str | None = None) -> Json:
    """A custom field as /field lists it, e.g. Flagged (multicheckboxes) or Epic Link."""
    number = fid.removeprefix("customfield_")
    plugin = "com.pyxis.greenhopper.jira" if kind.startswith("gh-") else _CF_PLUGIN
    schema = {"type": "array" if items else "any", "custom": f"{plugin}:{kind}"}
    schema |= {"items": items} if items else {}
    return _field(fid, name, schema | {"customId": int(number)}, f"cf[{number}]", name)


STANDARD_FIELDS = [
    _field(fid, name, {"type": kind, "system": fid}, *clauses)
    for fid, name, kind, *clauses in [
        ("summary", "Summary", "string"),
        ("status", "Status", "status"),
        ("duedate", "Due date", "date", "due", "duedate"),
        ("updated", "Updated", "datetime", "updated", "updatedDate"),
        ("assignee", "Assignee", "user"),
        ("issuetype", "Issue Type", "issuetype", "issuetype", "type"),
    ]
]


class FakeJira:
    """Serves on its own thread and event loop, since the `jira` client is blocking."""

    def __init__(
        self,
        mode: Literal["cloud", "datacenter"] = "cloud",
        *,
        credentials: tuple[str, str] = ("bot@acme.example", "token"),
        pat: str = "pat-123",
        flagged_field_id: str = "customfield_10021",
        epic_link_field_id: str = "customfield_10014",
    ) -> None:
        self.mode = mode
        self.credentials = credentials
        self.pat = pat
        self.flagged_field_id = flagged_field_id
        self.epic_link_field_id = epic_link_field_id
        self.page_size = 50
        self.issues: dict[str, Json] = {}  # key -> that issue's "fields" object
        self.users: dict[str, Json] = {}
        self.calls: list[tuple[str, str]] = []
        self.queries: list[str] = []  # every JQL searched, as received
        self.comments: list[tuple[str, str]] = []
        self.updates: list[tuple[str, Json]] = []
        self._jql: dict[str, list[str]] = {}
        self._ids: dict[str, str] = {}
        self._failures: list[tuple[int, int | None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._answer: asyncio.Event | None = None  # cleared: requests hang
        self._refusing = False
        self._port = 0

    # lifecycle

    def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self.hang(False)
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._loop = self._thread = self._runner = None

    def __enter__(self) -> FakeJira:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _serve(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get(API + "/serverInfo", self._server_info)
        app.router.add_get(API + "/field", self._fields)
        app.router.add_route("*", API + "/search/jql", self._search)
        app.router.add_route("*", API + "/search", self._search)
        app.router.add_get(API + "/issue/{key}", self._get_issue)
        app.router.add_put(API + "/issue/{key}", self._put_issue)
        app.router.add_post(API + "/issue/{key}/comment", self._comment)
        app.router.add_get(API + "/user/search", self._user_search)
        self._answer = asyncio.Event()
        self._answer.set()
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await self._listen()

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await self._site.start()
        self._port = self._port or self._runner.addresses[0][1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # test-side helpers

    def refuse(self, on: bool = True) -> None:
        """While on, nothing listens on the port: connections are refused, as by a Jira that
        is down; off listens again on the same port."""
        assert self._loop is not None and self._site is not None

        async def switch() -> None:
            assert self._site is not None
            self._refusing = on
            if on:
                await self._site.stop()
            else:
                await self._listen()

        asyncio.run_coroutine_threadsafe(switch(), self._loop).result(10)

    def hang(self, on: bool = True) -> None:
        """While on, requests are accepted (and recorded) but never answered, as by a Jira that
        hangs; off answers them."""
        if self._loop is not None and self._answer is not None:
            event = self._answer
            self._loop.call_soon_threadsafe(event.clear if on else event.set)

    def fail_next(self, status: int, times: int = 1, retry_after: int | None = None) -> None:
        """Answer the next `times` requests (any endpoint) with `status`."""
        self._failures.extend([(status, retry_after)] * times)

    def register_jql(self, jql: str, keys: list[str]) -> None:
        """Answer this exact JQL string with these issues (in this order)."""
        self._jql[jql] = list(keys)

    def add_user(self, account_id: str, email: str, name: str) -> Json:
        """A user; on Data Center `account_id` doubles as the username (name/key)."""
        cloud = {"accountId": account_id, "accountType": "atlassian"}
        ident = cloud if self.mode == "cloud" else {"key": account_id, "name": account_id}
        user = {"self": f"{self.url}{API}/user?id={account_id}", **ident, "active": True}
        self.users[account_id] = user | {"emailAddress": email, "displayName": name}
        return self.users[account_id]

    def add_epic(
        self,
        key: str,
        summary: str,
        status: str = "In Progress",
        category: Literal["done", "indeterminate", "new"] = "indeterminate",
        due: str | None = None,
        updated: str | datetime = "2026-11-17T09:12:00.000+0000",
        flagged: bool = False,
        assignee: str | None = None,
    ) -> Json:
        if isinstance(updated, datetime):
            updated = updated.strftime("%Y-%m-%dT%H:%M:%S.000%z")
        cat_id, cat_name = CATEGORIES[category]
        status_category = {"id": cat_id, "key": category, "name": cat_name}
        self.issues[key] = {
            "summary": summary,
            "issuetype": {"name": "Epic", "subtask": False},
            "status": {"name": status, "statusCategory": status_category},
            "duedate": due,
            "updated": updated,
            "assignee": self.users[assignee] if assignee else None,
            self.flagged_field_id: [self._option()] if flagged else None,
        }
        return self.issues[key]

    def add_child(self, epic_key: str, key: str, done: bool) -> Json:
        """A Story under the epic: via `parent` on Cloud, the Epic Link field on Data Center."""
        status, category = ("Done", "done") if done else ("To Do", "new")
        fields = self.add_epic(key, f"Child of {epic_key}", status, category)
        fields["issuetype"] = {"name": "Story", "subtask": False}
        if self.mode == "cloud":
            fields["parent"] = {"id": self._id(epic_key), "key": epic_key}
        else:
            fields[self.epic_link_field_id] = epic_key
        return fields

    # request plumbing

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self._refusing and request.transport is not None:  # a connection opened before
            request.transport.abort()
            raise web.HTTPServiceUnavailable()
        self.calls.append((request.method, request.path_qs))
        if self._answer is not None:
            await self._answer.wait()
        if self._failures:
            status, retry_after = self._failures.pop(0)
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
            return _error(status, f"Injected failure {status}", headers)
        cloud = self.mode == "cloud"
        expected = BasicAuth(*self.credentials).encode() if cloud else f"Bearer {self.pat}"
        if request.headers.get("Authorization") != expected:
            return _error(401, UNAUTHENTICATED)
        return await handler(request)

    def _id(self, key: str) -> str:
        return self._ids.setdefault(key, str(10001 + len(self._ids)))

    def _key(self, request: web.Request) -> str:
        """The issue key of the {key} (key or numeric id) in the path; 404 if there is none."""
        wanted = request.match_info["key"]
        key = wanted if wanted in self.issues else None
        key = key or next((k for k, i in self._ids.items() if i == wanted), None)
        if key is None:
            body = {"errorMessages": [NO_ISSUE], "errors": {}}
            raise web.HTTPNotFound(text=json.dumps(body), content_type="application/json")
        return key

    def _epic_of(self, key: str) -> str | None:
        fields = self.issues[key]
        if self.mode == "cloud":
            return (fields.get("parent") or {}).get("key")
        return fields.get(self.epic_link_field_id)

    def _option(self) -> Json:
        return {"self": f"{self.url}{API}/customFieldOption/10019", **IMPEDIMENT}

    def _render(self, key: str, wanted: list[str] | None) -> Json:
        fields = self.issues[key]
        if wanted and not {"*all", "*navigable"} & set(wanted):
            fields = {k: v for k, v in fields.items() if k in wanted}
        ident = self._id(key)
        return {"id": ident, "self": f"{self.url}{API}/issue/{ident}", "key": key, "fields": fields}

    def _match(self, jql: str) -> list[str]:
        """Keys matching `jql`; raises ValueError with Jira's message if unsupported."""
        if jql in self._jql:
            return [k for k in self._jql[jql] if k in self.issues]
        m = _JQL.match(jql)
        wanted = _values(m.group(2)) if m else None
        if m is None or wanted is None:
            raise ValueError(f"Error in the JQL Query: FakeJira does not support {jql!r}.")
        clause = m.group(1).lower()
        if (clause == "parent") != (self.mode == "cloud") and clause not in ("key", "issuekey"):
            raise ValueError(f"Field {m.group(1)} is not the epic link on {self.mode}.")
        for k in wanted:
            if k and k not in self.issues:
                raise ValueError(f"An issue with key '{k}' does not exist for field '{clause}'.")
        if clause in ("key", "issuekey"):
            keys = [k for k in self.issues if k in wanted]
        else:
            keys = [k for k in self.issues if self._epic_of(k) in wanted]
        if m.group(3):
            keys.sort(key=_key_order, reverse=(m.group(4) or "").lower() == "desc")
        return keys

    # endpoints

    async def _server_info(self, request: web.Request) -> web.Response:
        cloud = self.mode == "cloud"
        version = [1001, 0, 0] if cloud else [9, 12, 2]
        info = {"baseUrl": self.url, "version": ".".join(map(str, version))}
        info |= {"versionNumbers": version, "deploymentType": "Cloud" if cloud else "Server"}
        return web.json_response(info | {"buildNumber": 100000, "serverTitle": "Fake Jira"})

    async def _fields(self, request: web.Request) -> web.Response:
        flagged = self.flagged_field_id
        fields = [*STANDARD_FIELDS, _custom(flagged, "Flagged", "multicheckboxes", "option")]
        if self.mode == "cloud":
            fields.append(_field("parent", "Parent", {"type": "issuelink", "system": "parent"}))
        else:
            fields.append(_custom(self.epic_link_field_id, "Epic Link", "gh-epic-link"))
        return web.json_response(fields)

    async def _search(self, request: web.Request) -> web.Response:
        enhanced = request.path.endswith("/jql")
        if enhanced != (self.mode == "cloud"):
            if enhanced:
                raise web.HTTPNotFound()
            return _error(410, GONE)
        if request.method == "POST":
            params: Json = await request.json()
            raw = params.get("fields") or []
            wanted = [raw] if isinstance(raw, str) else list(raw)
        else:
            params = dict(request.query)
            wanted = request.query.getall("fields", [])
        wanted = [f.strip() for v in wanted for f in v.split(",") if f.strip()]
        self.queries.append(str(params.get("jql", "")))
        try:
            keys = self._match(self.queries[-1])
        except ValueError as exc:
            return _error(400, str(exc))
        size = min(int(params.get("maxResults") or self.page_size), self.page_size)
        if enhanced:
            token = str(params.get("nextPageToken") or "page-0")
            if not token.startswith("page-"):
                return _error(400, "The provided next page token is invalid or expired.")
            start = int(token[5:])
        else:
            start = int(params.get("startAt") or 0)
        issues = [self._render(k, wanted) for k in keys[start : start + size]]
        if not enhanced:
            page = {"startAt": start, "maxResults": size, "total": len(keys), "issues": issues}
            return web.json_response(page)
        body: Json = {"issues": issues, "isLast": start + size >= len(keys)}
        if not body["isLast"]:
            body["nextPageToken"] = f"page-{start + size}"
        return web.json_response(body)

    async def _get_issue(self, request: web.Request) -> web.Response:
        key = self._key(request)
        wanted = [f for v in request.query.getall("fields", []) for f in v.split(",")]
        return web.json_response(self._render(key, wanted))

    async def _put_issue(self, request: web.Request) -> web.Response:
        key = self._key(request)
        fields: Json = (await request.json()).get("fields") or {}
        known = {"summary", "duedate", "assignee", self.flagged_field_id}
        errors = {f: CANNOT_SET.format(f) for f in fields if f not in known}
        flag = fields.get(self.flagged_field_id) or []
        if any(IMPEDIMENT.get(k) != o[k] for o in flag for k in ("value", "id") if k in o):
            errors[self.flagged_field_id] = f"Option value '{flag}' is not valid"
        if errors:
            return web.json_response({"errorMessages": [], "errors": errors}, status=400)
        self.updates.append((key, fields))
        self.issues[key].update(fields)
        if self.flagged_field_id in fields:
            self.issues[key][self.flagged_field_id] = [self._option()] if flag else None
        return web.Response(status=204)

    async def _comment(self, request: web.Request) -> web.Response:
        key = self._key(request)
        body = (await request.json())["body"]
        self.comments.append((key, body))
        cid = str(20000 + len(self.comments))
        link = f"{self.url}{API}/issue/{self._id(key)}/comment/{cid}"
        comment = {"id": cid, "self": link, "body": body, "created": "2026-11-17T09:12:00.000+0000"}
        return web.json_response(comment, status=201)

    async def _user_search(self, request: web.Request) -> web.Response:
        param = "query" if self.mode == "cloud" else "username"
        term = request.query.get(param, "").lower()
        if not term:
            return _error(400, f"The '{param}' query parameter is required.")
        text = {a: f"{a} {u['emailAddress']} {u['displayName']}" for a, u in self.users.items()}
        found = [self.users[a] for a, t in text.items() if term in t.lower()]
        start = int(request.query.get("startAt", 0))
        return web.json_response(found[start : start + int(request.query.get("maxResults", 50))])

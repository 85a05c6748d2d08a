"""Wire-level fake of Linear's GraphQL endpoint (POST /graphql) for the real `gql` client."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web
from graphql import DocumentNode, GraphQLError, IntValueNode, parse

__all__ = ["FakeLinear"]

Json = dict[str, Any]
STATES = {
    "Backlog": "backlog",
    "Todo": "unstarted",
    "In Progress": "started",
    "Blocked": "started",
    "In Review": "started",
    "Done": "completed",
    "Canceled": "canceled",
}
PROJECT_STATUSES = {"Planned": "planned", "In Progress": "started", "Completed": "completed"}


def _error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> Any:
    kind = code.lower().replace("_", " ")
    body = {"errors": [{"message": message, "extensions": {"code": code, "type": kind}}]}
    return web.json_response(body, status=status, headers=headers)


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda value, wanted: value == wanted,
    "neq": lambda value, wanted: value != wanted,
    "in": lambda value, wanted: value in wanted,
    "nin": lambda value, wanted: value not in wanted,
    "eqIgnoreCase": lambda value, wanted: str(value).lower() == str(wanted).lower(),
}


def _compare(value: Any, comparator: Json) -> bool:
    return all(OPERATORS[op](value, wanted) for op, wanted in comparator.items())


def prepared(filter_: Any) -> Any:
    """The filter with its `in`/`nin` lists as sets: matching thousands of issues stays quick."""
    if isinstance(filter_, list):
        return [prepared(f) for f in filter_]
    if not isinstance(filter_, dict):
        return filter_
    return {k: set(v) if k in ("in", "nin") else prepared(v) for k, v in filter_.items()}


def matches(view: Any, filter_: Json) -> bool:
    """Linear's filter semantics over a nested view of a record: and/or, comparators, `some`."""
    for field, condition in filter_.items():
        if field in ("and", "or"):
            found = [matches(view, c) for c in condition]
            ok = all(found) if field == "and" else any(found)
        elif field == "some":
            ok = any(matches(item, condition) for item in view)
        elif set(condition) <= set(OPERATORS):
            ok = view is not None and _compare(view.get(field), condition)
        else:
            ok = (
                view is not None and view.get(field) is not None and matches(view[field], condition)
            )
        if not ok:
            return False
    return True


def _first(document: DocumentNode) -> int:
    """The page size the operation's (first) connection asks for: Linear's default is 50."""
    [operation] = document.definitions
    field = operation.selection_set.selections[0]  # type: ignore[attr-defined]
    given = {a.name.value: a.value for a in field.arguments}
    return int(given["first"].value) if isinstance(given.get("first"), IntValueNode) else 50


def _page(keys: list[str], size: int, after: str | None, render: Callable[[str], Json]) -> Json:
    start = int(after or 0)
    end = start + size
    return {
        "nodes": [render(k) for k in keys[start:end]],
        "pageInfo": {"hasNextPage": end < len(keys), "endCursor": str(end)},
    }


class FakeLinear:
    """Serves on the test's own event loop; data are plain dicts keyed by identifier/slugId."""

    def __init__(self, api_key: str = "lin_api_test", page_size: int = 250) -> None:
        self.api_key = api_key
        self.page_size = page_size  # Linear's largest page: `first` is capped at 250
        self._first = 50
        self._listings: dict[str, list[str]] = {}
        self.issues: dict[str, Json] = {}
        self.projects: dict[str, Json] = {}
        self.labels: dict[str, Json] = {}  # id -> {"id", "name", "team": a team key or None}
        self.users: dict[str, str] = {}  # email -> id
        self.calls: list[tuple[str, Json]] = []  # (operationName, variables) as received
        self.comments: list[tuple[str, str]] = []
        self.project_updates: list[tuple[str, str, str]] = []  # (slugId, health, body)
        self.arrivals: list[float] = []  # when each call came in (time.time())
        self.limited: list[float] = []  # the reset announced by each rate-limited answer
        self._limit = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> FakeLinear:
        app = web.Application()
        app.router.add_post("/graphql", self._graphql)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/graphql"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # data

    def add_issue(
        self,
        key: str,
        title: str,
        state: str = "In Progress",
        due: str | None = None,
        parent: str | None = None,
        project: str | None = None,
        labels: tuple[str, ...] = (),
        updated: str = "2026-11-18T09:30:00.000Z",
    ) -> None:
        self.issues[key] = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
            "identifier": key,
            "title": title,
            "team": key.split("-")[0],
            "state": state,
            "dueDate": due,
            "parent": parent,
            "project": project,
            "labels": [],
            "assignee": None,
            "updatedAt": updated,
        }
        self.label(key, *labels)

    def add_project(
        self, slug: str, name: str, status: str = "In Progress", target: str | None = None,
        health: str | None = "onTrack",
    ) -> None:  # fmt: skip
        self.projects[slug] = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, slug)),
            "slugId": slug,
            "name": name,
            "status": status,
            "targetDate": target,
            "health": health,
            "updatedAt": "2026-11-17T16:00:00.000Z",
        }

    def add_label(self, name: str, team: str | None = None) -> str:
        """A workspace label (or a team's), its id."""
        for label in self.labels.values():
            if (label["name"], label["team"]) == (name, team):
                return str(label["id"])
        label_id = str(uuid.uuid4())
        self.labels[label_id] = {"id": label_id, "name": name, "team": team}
        return label_id

    def label(self, key: str, *names: str) -> None:
        """Set an issue's labels to the workspace labels named."""
        self.issues[key]["labels"] = [self.add_label(name) for name in names]

    def label_names(self, key: str) -> list[str]:
        return [self.labels[i]["name"] for i in self.issues[key]["labels"]]

    def rate_limit(self, times: int = 1, reset_in: float = 1.0) -> None:
        """Answer the next `times` requests as Linear does when its limit is spent."""
        self._limit = times
        self._reset_in = reset_in

    def operations(self, *names: str) -> list[str]:
        return [name for name, _ in self.calls if not names or name in names]

    # views, as Linear shows each record

    def _issue(self, key: str) -> Json:
        i = self.issues[key]
        return {
            "id": i["id"],
            "identifier": key,
            "title": i["title"],
            "url": f"https://linear.app/acme/issue/{key.lower()}",
            "dueDate": i["dueDate"],
            "updatedAt": i["updatedAt"],
            "state": {"name": i["state"], "type": STATES[i["state"]]},
            "team": {"id": f"team-{i['team']}", "key": i["team"]},
            "labels": {"nodes": [self._label(n) for n in i["labels"]]},
            "parent": {"id": i["parent"], "identifier": i["parent"]} if i["parent"] else None,
            "project": {"slugId": i["project"]} if i["project"] else None,
            "assignee": {"email": i["assignee"]} if i["assignee"] else None,
        }

    def _issue_view(self, key: str) -> Json:
        """What an IssueFilter compares: `id` matches the identifier as well as the uuid."""
        view = self._issue(key)
        view["labels"] = view["labels"]["nodes"]
        return view | {"id": key}

    def _label(self, label_id: str) -> Json:
        label = self.labels[label_id]
        return {**label, "team": {"id": f"team-{label['team']}"} if label["team"] else None}

    def _project(self, slug: str) -> Json:
        p = self.projects[slug]
        status = {"name": p["status"], "type": PROJECT_STATUSES[p["status"]]}
        url = f"https://linear.app/acme/project/{p['name'].lower().replace(' ', '-')}-{slug}"
        return {**p, "status": status, "url": url}

    # the endpoint

    async def _graphql(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        name = body.get("operationName") or ""
        variables = body.get("variables") or {}
        self.calls.append((name, variables))
        self.arrivals.append(time.time())
        if request.headers.get("Authorization") != self.api_key:
            return _error(400, "Authentication required, not authenticated", "AUTHENTICATION_ERROR")
        if self._limit:
            self._limit -= 1
            reset = time.time() + self._reset_in
            self.limited.append(reset)
            headers = {
                "X-RateLimit-Requests-Limit": "5000",
                "X-RateLimit-Requests-Remaining": "0",
                "X-RateLimit-Requests-Reset": str(int(reset * 1000)),
            }
            return _error(400, "Rate limit exceeded", "RATELIMITED", headers)
        try:
            self._first = min(self.page_size, _first(parse(body["query"])))
        except GraphQLError as exc:
            return _error(400, exc.message, "GRAPHQL_VALIDATION_FAILED")
        handler: Callable[[Json], Json] | None = getattr(self, f"_op_{name}", None)
        if handler is None:
            return _error(400, f"Unknown operation {name!r}", "GRAPHQL_VALIDATION_FAILED")
        try:
            return web.json_response({"data": handler(variables)})
        except KeyError as exc:
            return _error(200, f"Entity not found: {exc.args[0]}", "INVALID_INPUT")

    def _listing(self, v: Json, keys: list[str], view: Callable[[str], Json]) -> list[str]:
        """The keys a filter matches, listed on the first page; a cursor continues that listing
        (as Linear's do) rather than matching every record again for each page."""
        filter_ = json.dumps(v["filter"], sort_keys=True)
        if v.get("after") is None or filter_ not in self._listings:
            wanted = prepared(v["filter"])
            self._listings[filter_] = [k for k in sorted(keys) if matches(view(k), wanted)]
        return self._listings[filter_]

    def _op_Issues(self, v: Json) -> Json:
        found = self._listing(v, list(self.issues), self._issue_view)
        return {"issues": _page(found, self._first, v.get("after"), self._issue)}

    _op_Work = _op_Issues

    def _op_Projects(self, v: Json) -> Json:
        found = self._listing(v, list(self.projects), self._project)
        return {"projects": _page(found, self._first, v.get("after"), self._project)}

    def _op_Users(self, v: Json) -> Json:
        found = [i for e, i in self.users.items() if e.lower() == v["email"].lower()]
        return {"users": {"nodes": [{"id": i} for i in found]}}

    def _by_id(self, key: str) -> str:
        found = [k for k, i in self.issues.items() if key in (k, i["id"])]
        if not found:
            raise KeyError("Issue")
        return found[0]

    def _op_FlagTarget(self, v: Json) -> Json:
        issue = self._issue(self._by_id(v["key"]))
        wanted = v["label"].lower()
        mine = [n for n in issue["labels"]["nodes"] if n["name"].lower() == wanted]
        labels = [self._label(i) for i, n in self.labels.items() if n["name"].lower() == wanted]
        return {
            "issue": {"id": issue["id"], "team": issue["team"], "labels": {"nodes": mine}},
            "issueLabels": {"nodes": labels},
        }

    def _op_LabelCreate(self, v: Json) -> Json:
        label_id = self.add_label(v["name"], v["team"].removeprefix("team-"))
        return {"issueLabelCreate": {"success": True, "issueLabel": self._label(label_id)}}

    def _op_FlagIssue(self, v: Json) -> Json:
        key = self._by_id(v["issue"])
        self.comments.append((key, v["body"]))
        if v["label"] not in self.issues[key]["labels"]:
            self.issues[key]["labels"].append(v["label"])
        return {"commentCreate": {"success": True}, "issueAddLabel": {"success": True}}

    def _op_UnflagIssue(self, v: Json) -> Json:
        key = self._by_id(v["issue"])
        self.issues[key]["labels"].remove(v["label"])
        return {"issueRemoveLabel": {"success": True}}

    def _op_ProjectUpdate(self, v: Json) -> Json:
        [slug] = [s for s, p in self.projects.items() if p["id"] == v["project"]]
        self.projects[slug]["health"] = v["health"]
        self.project_updates.append((slug, v["health"], v["body"]))
        return {"projectUpdateCreate": {"success": True}}

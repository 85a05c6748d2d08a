"""Linear through its GraphQL API (the `gql` client over aiohttp): issues or projects as epics."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import aiohttp
from gql import Client, GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.exceptions import TransportError, TransportQueryError, TransportServerError
from graphql import OperationDefinitionNode
from pydantic import AfterValidator

from bot.core.errors import AuthError, IntegrationError, TransientError
from bot.core.model import EpicFacts
from integrations.bindings import TrackerBinding

if TYPE_CHECKING:
    from bot.config import Settings

Json = dict[str, Any]
NAME = "Linear"
API_URL = "https://api.linear.app/graphql"
PROJECT = "project:"  # a key naming a project by its slugId, the end of its URL
FLAG_LABEL = "At risk"  # the label goalnudge adds to a flagged issue (created when missing)
BLOCKED = frozenset({"blocked", "on hold"})  # state names or labels that mean "blocked"
CLOSED = frozenset({"completed", "canceled"})  # workflow state / project status types
AT_RISK = frozenset({"atRisk", "offTrack"})  # a project's health that counts as flagged
STATE_TYPES = frozenset({"triage", "backlog", "unstarted", "started", "completed", "canceled"})
# Page sizes keep each query far below Linear's 10,000 complexity points (connections
# multiply their nodes' cost by `first`).
EPIC_PAGE, WORK_PAGE = 100, 250
TIMEOUT = 20.0  # seconds per request (LINEAR_TIMEOUT_SECONDS)
RETRIES = 3  # rate-limited answers waited out before giving up
MAX_WAIT = 10.0  # seconds at most between two tries, whatever the reset header says
MARKS = ", ".join(
    f"{{ name: {{ eqIgnoreCase: {json.dumps(m)} }} }}" for m in sorted({FLAG_LABEL, *BLOCKED})
)  # only the labels that mean flagged or blocked, whatever else an issue carries
PAGE = "pageInfo { hasNextPage endCursor }"


def operation(text: str) -> GraphQLRequest:
    """A document of one named operation, parsed once; its name is sent as operationName."""
    request = GraphQLRequest(text)
    [definition] = request.document.definitions
    assert isinstance(definition, OperationDefinitionNode) and definition.name
    request.operation_name = definition.name.value
    return request


ISSUES = operation(f"""query Issues($filter: IssueFilter!, $after: String) {{
  issues(filter: $filter, first: {EPIC_PAGE}, after: $after) {{ {PAGE} nodes {{
    identifier title url dueDate updatedAt state {{ name type }}
    labels(first: 10, filter: {{ or: [{MARKS}] }}) {{ nodes {{ name }} }} }} }} }}""")
PROJECTS = operation(f"""query Projects($filter: ProjectFilter!, $after: String) {{
  projects(filter: $filter, first: {EPIC_PAGE}, after: $after) {{ {PAGE} nodes {{
    id slugId name url targetDate health updatedAt status {{ name type }} }} }} }}""")
WORK = operation(f"""query Work($filter: IssueFilter!, $after: String) {{
  issues(filter: $filter, first: {WORK_PAGE}, after: $after) {{ {PAGE} nodes {{
    state {{ type }} parent {{ identifier }} project {{ slugId }} }} }} }}""")
USERS = operation("""query Users($email: String!) {
  users(filter: { email: { eqIgnoreCase: $email } }, first: 2) { nodes { id } } }""")
FLAG_TARGET = operation("""query FlagTarget($key: String!, $label: String!) {
  issue(id: $key) {
    id team { id } labels(filter: { name: { eqIgnoreCase: $label } }) { nodes { id } } }
  issueLabels(filter: { name: { eqIgnoreCase: $label } }, first: 50) {
    nodes { id team { id } } } }""")
LABEL_CREATE = operation("""mutation LabelCreate($name: String!, $team: String!) {
  issueLabelCreate(input: { name: $name, teamId: $team, color: "#F2994A" }) {
    success issueLabel { id } } }""")
FLAG_ISSUE = operation("""mutation FlagIssue($issue: String!, $label: String!, $body: String!) {
  commentCreate(input: { issueId: $issue, body: $body }) { success }
  issueAddLabel(id: $issue, labelId: $label) { success } }""")
UNFLAG_ISSUE = operation("""mutation UnflagIssue($issue: String!, $label: String!) {
  issueRemoveLabel(id: $issue, labelId: $label) { success } }""")
PROJECT_UPDATE = operation("""mutation ProjectUpdate(
  $project: String!, $body: String!, $health: ProjectUpdateHealthType!) {
  projectUpdateCreate(input: { projectId: $project, body: $body, health: $health }) {
    success } }""")
# The filter language of a key result's query: field:value terms, all of them must hold; a
# field given twice matches either value. Quotes keep spaces: state:"In Review".
FILTERS: dict[str, Callable[[list[str]], Json]] = {
    "team": lambda v: {"team": {"key": {"in": v}}},
    "project": lambda v: {"project": {"slugId": {"in": v}}},
    "label": lambda v: {"labels": {"some": {"name": {"in": v}}}},
    "assignee": lambda v: {"assignee": {"email": {"in": v}}},
    "parent": lambda v: {"parent": {"id": {"in": v}}},
    "state": lambda v: {"state": either(
        [{"type": {"in": [s for s in v if s in STATE_TYPES]}}] * any(s in STATE_TYPES for s in v)
        + [{"name": {"in": [s for s in v if s not in STATE_TYPES]}}] * (not set(v) <= STATE_TYPES)
    )},  # a workflow state type (started, …) or a state's own name (In Review)
}  # fmt: skip
LANGUAGE = "field:value terms with " + ", ".join(FILTERS) + ", e.g. team:MOB state:started"


def either(clauses: list[Json]) -> Json:
    return clauses[0] if len(clauses) == 1 else {"or": clauses}


def issue_filter(text: str) -> Json:
    """A key result's query as a Linear IssueFilter; anything else is refused."""
    try:
        terms = shlex.split(text)
    except ValueError:
        raise IntegrationError(NAME, f"unbalanced quotes in a query: use {LANGUAGE}") from None
    values: dict[str, list[str]] = {}
    for term in terms:
        field, colon, value = term.partition(":")
        if not colon or not value or field not in FILTERS:
            shown = f"{field!r}" if colon else "a term without ':'"
            raise IntegrationError(NAME, f"cannot filter on {shown}: use {LANGUAGE}")
        values.setdefault(field, []).append(value)
    if not values:
        raise IntegrationError(NAME, f"an empty query: use {LANGUAGE}")
    clauses = [FILTERS[field](given) for field, given in values.items()]
    return clauses[0] if len(clauses) == 1 else {"and": clauses}


def wait(headers: Mapping[str, str] | None) -> float:
    """Seconds until Linear lets us in again: Retry-After, else the spent limit's reset."""
    headers = headers or {}
    if after := headers.get("Retry-After"):
        return float(after)
    resets = [
        float(headers.get(f"X-RateLimit-{kind}-Reset") or 0) / 1000 - time.time()
        for kind in ("Requests", "Complexity")
        if headers.get(f"X-RateLimit-{kind}-Remaining") == "0"
    ]
    return max([1.0, *resets])


def vendor_error(exc: Exception, headers: Mapping[str, str] | None) -> IntegrationError:
    """Every gql and aiohttp failure as goalnudge's IntegrationError tree, in one place."""
    if isinstance(exc, TransportQueryError):
        error = (exc.errors or [{}])[0]
        extensions = error.get("extensions") or {}
        code = str(extensions.get("code") or "").upper()
        message = extensions.get("userPresentableMessage") or error.get("message") or str(exc)
        if code == "RATELIMITED":
            return TransientError(NAME, f"rate limited: {message}", wait(headers))
        if code in ("AUTHENTICATION_ERROR", "FORBIDDEN"):
            return AuthError(NAME, message)
        return IntegrationError(NAME, message)
    if isinstance(exc, TransportServerError):
        status = exc.code or 0
        if status in (401, 403):
            return AuthError(NAME, f"HTTP {status}")
        if status == 429 or status >= 500:
            return TransientError(NAME, f"HTTP {status}", wait(headers) if status == 429 else None)
        return IntegrationError(NAME, f"HTTP {status}")
    return TransientError(NAME, f"unreachable: {type(exc).__name__}")


class LinearTracker:
    """Issues (`MOB-3`, their sub-issues as its issues) and projects (`project:<slugId>`, their
    issues) read in a few paged queries for every bound key at once."""

    name = NAME

    def __init__(self, api_key: str, url: str = API_URL, timeout: float = TIMEOUT) -> None:
        self.api_key = api_key
        self.url = url
        self.timeout = timeout
        self.accounts: dict[str, str | None] = {}
        self.calls = 0

    async def _post(self, operation: GraphQLRequest, variables: Json) -> Json:
        transport = AIOHTTPTransport(
            url=self.url,
            headers={"Authorization": self.api_key},
            client_session_args={"timeout": aiohttp.ClientTimeout(total=self.timeout)},
        )
        request = GraphQLRequest(operation, variable_values=variables)
        self.calls += 1
        try:
            async with Client(transport=transport, execute_timeout=self.timeout) as session:
                return await session.execute(request)
        except (TransportError, aiohttp.ClientError, TimeoutError) as exc:
            raise vendor_error(exc, getattr(transport, "response_headers", None)) from exc

    async def _execute(self, operation: GraphQLRequest, variables: Json) -> Json:
        """One GraphQL request; a rate-limited answer is waited out (with back-off), RETRIES
        times at most."""
        for attempt in range(RETRIES):
            try:
                return await self._post(operation, variables)
            except TransientError as exc:
                if exc.retry_after is None:
                    raise
                await asyncio.sleep(min(MAX_WAIT, max(exc.retry_after, 2.0**attempt)))
        return await self._post(operation, variables)

    async def _nodes(self, operation: GraphQLRequest, filter_: Json) -> list[Json]:
        """Every node of the document's one connection, page after page."""
        nodes: list[Json] = []
        after = None
        while True:
            data = await self._execute(operation, {"filter": filter_, "after": after})
            [connection] = data.values()
            nodes += connection["nodes"]
            if not connection["pageInfo"]["hasNextPage"]:
                return nodes
            after = connection["pageInfo"]["endCursor"]

    async def epics(self, keys: Sequence[str]) -> list[EpicFacts]:
        slugs = sorted({k.removeprefix(PROJECT) for k in keys if k.startswith(PROJECT)})
        issues = sorted({k for k in keys if not k.startswith(PROJECT)})
        found: list[Json] = await self._nodes(ISSUES, {"id": {"in": issues}}) if issues else []
        projects = await self._nodes(PROJECTS, {"slugId": {"in": slugs}}) if slugs else []
        parts = [{"parent": {"id": {"in": issues}}}] * bool(issues)
        parts += [{"project": {"slugId": {"in": slugs}}}] * bool(slugs)
        work = await self._nodes(WORK, either(parts)) if parts else []
        total: Counter[str] = Counter()
        open_: Counter[str] = Counter()
        for node in work:
            for owner in (
                (node.get("parent") or {}).get("identifier"),
                PROJECT + slug if (slug := (node.get("project") or {}).get("slugId")) else None,
            ):
                if owner:
                    total[owner] += 1
                    open_[owner] += node["state"]["type"] not in CLOSED
        facts = {e.key: e for e in map(epic_facts, found + projects)}
        return [
            replace(facts[k], open_issues=open_[k], total_issues=total[k])
            for k in dict.fromkeys(keys)
            if k in facts
        ]

    async def query(self, text: str) -> EpicFacts:
        """Every issue the filter language matches, summed up: open/total, latest due date."""
        found = [epic_facts(n) for n in await self._nodes(ISSUES, issue_filter(text))]
        done = [e.done for e in found]
        dues = [e.due for e in found if e.due]
        updates = [e.updated for e in found if e.updated]
        return EpicFacts(
            key=text,
            title=text if len(text) <= 60 else text[:57] + "…",
            status=f"{sum(done)} of {len(done)} done",
            done=bool(done) and all(done),
            due=max(dues) if dues else None,
            open_issues=done.count(False),
            total_issues=len(done),
            flagged=any(e.flagged for e in found),
            updated=max(updates) if updates else None,
            blocked=any(e.blocked for e in found),
        )

    async def account(self, email: str) -> str | None:
        """A person's Linear user id, by email; each email is looked up once per process."""
        if email not in self.accounts:
            users = (await self._execute(USERS, {"email": email}))["users"]["nodes"]
            self.accounts[email] = users[0]["id"] if len(users) == 1 else None
        return self.accounts[email]

    async def flag(self, key: str, note: str, who: str) -> None:
        """An issue: a comment with the note and who raised it, and the At risk label. A project:
        a project update with the note, its health at risk."""
        body = f"⚠️ Flagged at risk by {who} via goalnudge:\n\n{note}"
        if key.startswith(PROJECT):
            return await self._project_update(key, body, "atRisk")
        target = await self._execute(FLAG_TARGET, {"key": key, "label": FLAG_LABEL})
        team = target["issue"]["team"]["id"]
        usable = [
            label["id"]
            for label in target["issueLabels"]["nodes"]
            if label.get("team") is None or label["team"]["id"] == team
        ]
        if not usable:
            created = await self._execute(LABEL_CREATE, {"name": FLAG_LABEL, "team": team})
            usable = [created["issueLabelCreate"]["issueLabel"]["id"]]
        issue = target["issue"]["id"]
        await self._execute(FLAG_ISSUE, {"issue": issue, "label": usable[0], "body": body})

    async def unflag(self, key: str) -> None:
        if key.startswith(PROJECT):
            return await self._project_update(key, "✅ Flag cleared via goalnudge.", "onTrack")
        target = await self._execute(FLAG_TARGET, {"key": key, "label": FLAG_LABEL})
        for label in target["issue"]["labels"]["nodes"]:
            await self._execute(
                UNFLAG_ISSUE, {"issue": target["issue"]["id"], "label": label["id"]}
            )

    async def _project_update(self, key: str, body: str, health: str) -> None:
        found = await self._nodes(PROJECTS, {"slugId": {"eq": key.removeprefix(PROJECT)}})
        if not found:
            raise IntegrationError(NAME, f"no project {key}")
        await self._execute(
            PROJECT_UPDATE, {"project": found[0]["id"], "body": body, "health": health}
        )


def epic_facts(node: Json) -> EpicFacts:
    """An issue, or a project (it has a slugId), as the core reads it; counts are added later."""
    project = "slugId" in node
    state = node["status" if project else "state"]
    labels = {label["name"].lower() for label in node.get("labels", {}).get("nodes", [])}
    due, updated = node.get("targetDate" if project else "dueDate"), node.get("updatedAt")
    return EpicFacts(
        key=PROJECT + node["slugId"] if project else node["identifier"],
        title=node["name" if project else "title"],
        status=state["name"],
        done=state["type"] in CLOSED,
        due=date.fromisoformat(due) if due else None,
        open_issues=0,
        total_issues=0,
        flagged=node.get("health") in AT_RISK or FLAG_LABEL.lower() in labels,
        updated=datetime.fromisoformat(updated) if updated else None,
        link=node.get("url"),
        blocked=bool(BLOCKED & {state["name"].lower(), *labels}),
    )


def from_settings(settings: Settings) -> LinearTracker | None:
    """The Linear tracker when LINEAR_API_KEY is set, else None."""
    if not settings.linear_api_key:
        return None
    return LinearTracker(
        settings.linear_api_key, settings.linear_api_url, settings.linear_timeout_seconds
    )


def _key(value: str) -> str:
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*-\d+|project:[0-9a-f]+", value):
        raise ValueError(f"{value!r} is not a Linear issue like MOB-3 or a project:<slugId>")
    return value


class Binding(TrackerBinding):
    """A key result's options in the org file: `source: {linear: {epic: KEY}}` or `{query: …}`."""

    FORMS: ClassVar[tuple[str, ...]] = ("{linear: {epic: KEY}}", "{linear: {query: FILTER}}")

    epic: Annotated[str, AfterValidator(_key)] | None = None
    query: str | None = None

"""Jira Cloud and Data Center through the `jira` package: epics in bulk, risk flags written back."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar
from urllib.parse import quote_plus

import requests
from jira import JIRA, JIRAError
from pydantic import AfterValidator
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from bot.core.errors import AuthError, IntegrationError, TransientError
from bot.core.model import EpicFacts
from integrations.bindings import TrackerBinding

if TYPE_CHECKING:
    from bot.config import Settings

T = TypeVar("T")
NAME = "Jira"
FIELDS = ["summary", "status", "duedate", "updated", "assignee", "parent"]
IMPEDIMENT = [{"value": "Impediment"}]
BLOCKED = frozenset({"Blocked", "On Hold"})  # Jira's status names that mean "blocked"
CONNECT_TIMEOUT = 5.0  # seconds to open a connection
TIMEOUT = 20.0  # seconds to wait for an answer (JIRA_TIMEOUT_SECONDS)
# 429 and 503 are retried twice, waiting as told (at most 10 s); a refused connection or a
# timeout is never retried: the circuit breaker decides when Jira is tried again.
RETRY = Retry(
    total=2,
    connect=0,
    read=0,
    other=0,
    status=2,
    status_forcelist=(429, 503),
    allowed_methods=None,
    backoff_factor=1.0,
    backoff_max=10.0,
    retry_after_max=10,
    raise_on_status=False,
)


@dataclass(frozen=True)
class JiraCredentials:
    """Cloud: email + API token; Data Center: a personal access token."""

    url: str
    email: str | None = None
    api_token: str | None = None
    pat: str | None = None


def connect(c: JiraCredentials, timeout: float = TIMEOUT) -> JIRA:
    options: dict[str, Any] = {
        "server": c.url,
        "logging": False,
        "timeout": (min(CONNECT_TIMEOUT, timeout), timeout),
        "max_retries": 0,  # the client's own retries back off for up to a minute each
    }
    if c.pat:
        client = JIRA(token_auth=c.pat, **options)
    elif c.email and c.api_token:
        client = JIRA(basic_auth=(c.email, c.api_token), **options)
    else:
        raise AuthError(NAME, "set JIRA_EMAIL and JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center)")
    for scheme in ("http://", "https://"):
        client._session.mount(scheme, HTTPAdapter(max_retries=RETRY))
    return client


def literal(value: str) -> str:
    """`value` as one JQL string literal, whatever it holds: `PAY-1) OR x` stays a key."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


class JiraTracker:
    """One search for every linked epic, one for their children; flags written back on request."""

    name = NAME

    def __init__(
        self,
        credentials: JiraCredentials,
        factory: Callable[[JiraCredentials, float], Any] = connect,
        timeout: float = TIMEOUT,
    ) -> None:
        self.credentials = credentials
        self.factory = factory
        self.timeout = timeout
        self.client: Any = None
        self.field_ids: dict[str, str] | None = None
        self.accounts: dict[str, str | None] = {}
        self.calls = 0

    def _run(self, work: Callable[[Any], T], api: bool = True) -> T:
        """Blocking; 429 and 503 are retried (honouring Retry-After), nothing else is."""
        try:
            if self.client is None:
                self.calls += 1  # serverInfo
                self.client = self.factory(self.credentials, self.timeout)
            self.calls += api
            return work(self.client)
        except JIRAError as exc:
            status = exc.status_code or 0
            message = f"HTTP {status}: {exc.text or exc}"
            if status in (401, 403):
                raise AuthError(NAME, message) from exc
            if status == 429 or status >= 500:
                raise TransientError(NAME, message) from exc
            raise IntegrationError(NAME, message) from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(NAME, f"unreachable: {type(exc).__name__}") from exc

    async def call(self, work: Callable[[Any], T], api: bool = True) -> T:
        """Run blocking client work in a thread; `api` counts it as one API call."""
        return await asyncio.to_thread(self._run, work, api)

    def _field(self, client: Any, name: str) -> str | None:
        """A custom field's id by its name ("Flagged", "Epic Link"): ids differ per site."""
        if self.field_ids is None:
            self.calls += 1
            # The client's own name→id cache: one /field call, shared with its searches.
            self.field_ids = dict(client._fields_cache)
        return self.field_ids.get(name)

    def _flagged_field(self, client: Any) -> str | None:
        return self._field(client, "Flagged")

    async def search(self, jql: str, fields: list[str]) -> list[Any]:
        def work(client: Any) -> list[Any]:
            return list(client.search_issues(jql, maxResults=False, fields=fields, use_post=True))

        return await self.call(work)

    async def epics(self, keys: Sequence[str]) -> list[EpicFacts]:
        if not keys:
            return []
        flagged = await self.call(self._flagged_field, api=False)
        wanted = ", ".join(map(literal, keys))
        epics = await self.search(
            f"key in ({wanted}) ORDER BY key", FIELDS + ([flagged] if flagged else [])
        )
        epic_link = await self.call(lambda c: self._field(c, "Epic Link"), api=False)
        cloud = await self.call(lambda c: bool(c._is_cloud), api=False)
        link = "parent" if cloud or not epic_link else '"Epic Link"'
        children = await self.search(
            f"{link} in ({wanted})", ["status", "parent", *([epic_link] if epic_link else [])]
        )
        total: Counter[str] = Counter()
        open_: Counter[str] = Counter()
        for child in children:
            raw = child.raw["fields"]
            parent = (raw.get("parent") or {}).get("key") or (
                raw.get(epic_link) if epic_link else None
            )
            if parent is None:
                continue  # found through a link the epic no longer has: not its child now
            total[parent] += 1
            if raw["status"]["statusCategory"]["key"] != "done":
                open_[parent] += 1
        return [self._facts(e.raw, flagged, total, open_) for e in epics]

    async def query(self, text: str) -> EpicFacts:
        """Every issue a key result's JQL matches, summed up: open/total, latest due date."""
        jql = text
        flagged = await self.call(self._flagged_field, api=False)
        issues = [i.raw for i in await self.search(jql, FIELDS + ([flagged] if flagged else []))]
        fields = [i["fields"] for i in issues]
        done = [f["status"]["statusCategory"]["key"] == "done" for f in fields]
        dues = [date.fromisoformat(f["duedate"]) for f in fields if f.get("duedate")]
        updates = [t for f in fields if (t := parse_time(f.get("updated")))]
        shown = jql if len(jql) <= 60 else jql[:57] + "…"
        return EpicFacts(
            key=jql,
            title=shown,
            status=f"{sum(done)} of {len(done)} done",
            done=bool(done) and all(done),
            due=max(dues) if dues else None,
            open_issues=done.count(False),
            total_issues=len(done),
            flagged=any(bool(flagged and f.get(flagged)) for f in fields),
            updated=max(updates) if updates else None,
            link=f"{self.credentials.url.rstrip('/')}/issues/?jql={quote_plus(jql)}",
            blocked=any(f["status"]["name"] in BLOCKED for f in fields),
        )

    def _facts(
        self, raw: dict[str, Any], flagged: str | None, total: Counter[str], open_: Counter[str]
    ) -> EpicFacts:
        fields = raw["fields"]
        due = fields.get("duedate")
        key = raw["key"]
        return EpicFacts(
            key=key,
            title=fields.get("summary", key),
            status=fields["status"]["name"],
            done=fields["status"]["statusCategory"]["key"] == "done",
            due=date.fromisoformat(due) if due else None,
            open_issues=open_[key],
            total_issues=total[key],
            flagged=bool(flagged and fields.get(flagged)),
            updated=parse_time(fields.get("updated")),
            link=f"{self.credentials.url.rstrip('/')}/browse/{key}",
            blocked=fields["status"]["name"] in BLOCKED,
        )

    async def account(self, email: str) -> str | None:
        """A person's Jira account id (Cloud) or username (Data Center), by email; each email is
        looked up once per process, found or not."""
        if email in self.accounts:
            return self.accounts[email]

        def work(client: Any) -> str | None:
            if client._is_cloud:
                found = client.search_users(query=email, maxResults=2)
                return found[0].accountId if len(found) == 1 else None
            found = client.search_users(user=email, maxResults=2)
            return found[0].name if len(found) == 1 else None

        self.accounts[email] = await self.call(work)
        return self.accounts[email]

    async def flag(self, key: str, note: str, who: str) -> None:
        """Comment with the blocker note and who raised it; set Flagged to Impediment."""

        def work(client: Any) -> None:
            client.add_comment(key, f"⚠️ Flagged at risk by {who} via goalnudge:\n{note}")
            field = self._flagged_field(client)
            if field:
                client.issue(key).update(fields={field: IMPEDIMENT})

        await self.call(work)

    async def unflag(self, key: str) -> None:
        def work(client: Any) -> None:
            field = self._flagged_field(client)
            if field:
                client.issue(key).update(fields={field: None})

        await self.call(work)


def _epic(value: str) -> str:
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*-\d+", value):
        raise ValueError(f"{value!r} is not a Jira issue key like PAY-12")
    return value


class Binding(TrackerBinding):
    """A key result's options in the org file: `source: {jira: {epic: KEY}}` or `{jql: …}`."""

    FORMS: ClassVar[tuple[str, ...]] = ("{jira: {epic: KEY}}", "{jira: {jql: QUERY}}")
    QUERY: ClassVar[str] = "jql"  # the field holding a query in the tracker's own language

    epic: Annotated[str, AfterValidator(_epic)] | None = None
    jql: str | None = None


def from_settings(settings: Settings) -> JiraTracker | None:
    if not settings.jira_url:
        return None
    return JiraTracker(
        JiraCredentials(
            settings.jira_url, settings.jira_email, settings.jira_api_token, settings.jira_pat
        ),
        timeout=settings.jira_timeout_seconds,
    )

"""Salesforce through simple-salesforce: aggregate SOQL per metric, paged by owner id."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
)

from bot.core.errors import AuthError, IntegrationError, TransientError
from bot.core.model import CrmFigure, Deal, Person
from integrations.salesforce_metrics import LEVELS, MEASURES, filters, quote, read, soql_date
from integrations.salesforce_metrics import Binding as Binding  # the org-file options (registry)

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger("goalnudge.salesforce")
T = TypeVar("T")
NAME = "Salesforce"
KIND = "salesforce"  # of key result sources, and of the people's ids here (Salesforce User ids)
GROUPS = 2000  # Salesforce returns at most 2,000 aggregate groups per query
EMAILS_PER_QUERY = 300  # keeps a User lookup's URL well under the 16,384-character limit
DEAL_DAYS = 14
TRANSIENT = {429, 500, 502, 503, 504}
CONNECT_TIMEOUT = 5.0  # seconds to open a connection
TIMEOUT = 20.0  # seconds to wait for an answer (SALESFORCE_TIMEOUT_SECONDS)
MAX_PAUSE = 10.0  # seconds at most between two tries of a 429/5xx, whatever Retry-After says


@dataclass(frozen=True)
class Credentials:
    """One of: username + password + security token; username + consumer key + private key
    (JWT bearer); or session id + instance URL."""

    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    consumer_key: str | None = None
    private_key: str | None = None
    session_id: str | None = None
    instance_url: str | None = None
    domain: str = "login"


class TimeoutSession(requests.Session):
    """simple-salesforce sets no timeout: a hung Salesforce must not hang a sync forever."""

    def __init__(self, timeout: float = TIMEOUT) -> None:
        super().__init__()
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


def login(c: Credentials, timeout: float = TIMEOUT) -> Salesforce:
    session = TimeoutSession(timeout)
    if c.session_id and c.instance_url:
        return Salesforce(session_id=c.session_id, instance_url=c.instance_url, session=session)
    if c.username and c.consumer_key and c.private_key:
        return Salesforce(
            username=c.username,
            consumer_key=c.consumer_key,
            privatekey=c.private_key,
            domain=c.domain,
            session=session,
        )
    if c.username and c.password:
        return Salesforce(
            username=c.username,
            password=c.password,
            security_token=c.security_token or "",
            domain=c.domain,
            session=session,
        )
    raise AuthError(
        NAME,
        "no credentials: set SALESFORCE_USERNAME and SALESFORCE_PASSWORD "
        "(+ SALESFORCE_SECURITY_TOKEN), a JWT key, or a session id",
    )


def owner_id(person: Person) -> str | None:
    """The person's Salesforce User id, when the org file (or a lookup) gave one."""
    return person.ids.get(KIND)


class SalesforceCrm:
    """The CRM source: one aggregate query per metric per 2,000 owners, never one per person."""

    name = NAME

    def __init__(
        self,
        credentials: Credentials,
        connect: Callable[[Credentials, float], Any] = login,
        attempts: int = 3,
        timeout: float = TIMEOUT,
    ) -> None:
        self.credentials = credentials
        self.connect = connect
        self.attempts = attempts
        self.timeout = timeout
        self.sf: Any = None
        self.owner_ids: dict[str, str] = {}
        self.calls = 0
        self.usage: tuple[int, int] | None = None

    def _run(self, work: Callable[[Any], T]) -> T:
        """Blocking: log in if needed, once more when the session expired; map errors."""
        for attempt in range(self.attempts):
            try:
                if self.sf is None:
                    self.sf = self.connect(self.credentials, self.timeout)
                self.calls += 1
                result = work(self.sf)
                usage = (getattr(self.sf, "api_usage", None) or {}).get("api-usage")
                if usage is not None:
                    self.usage = (usage.used, usage.total)
                return result
            except SalesforceExpiredSession:
                self.sf = None
                if attempt == self.attempts - 1:
                    raise AuthError(NAME, "session expired and logging in again failed") from None
            except SalesforceAuthenticationFailed as exc:
                detail = getattr(exc, "auth_message", "") or str(exc)
                raise AuthError(
                    NAME, f"login refused ({getattr(exc, 'code', '')}): {detail}"
                ) from exc
            except SalesforceError as exc:
                if exc.status not in TRANSIENT or attempt == self.attempts - 1:
                    detail = (
                        exc.content[0].get("message")
                        if isinstance(exc.content, list) and exc.content
                        else exc.content
                    )
                    if isinstance(detail, bytes):
                        detail = detail.decode(errors="replace")
                    raise (TransientError if exc.status in TRANSIENT else IntegrationError)(
                        NAME, f"HTTP {exc.status}: {detail}"
                    ) from exc
                self._pause(attempt, exc.headers if hasattr(exc, "headers") else None)
            except (requests.Timeout, requests.ConnectionError) as exc:
                # Not retried: a refusing or hung Salesforce costs one timeout, and the circuit
                # breaker decides when it is tried again.
                raise TransientError(NAME, f"unreachable: {type(exc).__name__}") from exc
        raise AssertionError("unreachable")

    @staticmethod
    def _pause(attempt: int, headers: Any) -> None:
        import time

        retry = (headers or {}).get("Retry-After") if headers else None
        time.sleep(min(float(retry) if retry else 0.5 * 2**attempt, MAX_PAUSE))

    async def call(self, work: Callable[[Any], T]) -> T:
        return await asyncio.to_thread(self._run, work)

    async def query_all(self, soql: str) -> list[dict[str, Any]]:
        return list((await self.call(lambda sf: sf.query_all(soql)))["records"])

    async def owners(self, people: Sequence[Person]) -> dict[str, str]:
        """Salesforce User id per email: from the org file, else one User query by email."""
        found = {p.email: known for p in people if (known := owner_id(p))}
        missing = [p.email for p in people if not owner_id(p) and p.email not in self.owner_ids]
        for i in range(0, len(missing), EMAILS_PER_QUERY):
            emails = ", ".join(quote(e) for e in missing[i : i + EMAILS_PER_QUERY])
            for row in await self.query_all(
                f"SELECT Id, Email FROM User WHERE IsActive = true AND Email IN ({emails})"
            ):
                self.owner_ids[str(row["Email"]).lower()] = str(row["Id"])
        found |= {p.email: self.owner_ids[p.email] for p in people if p.email in self.owner_ids}
        return {email: owner for email, owner in found.items() if owner}

    async def grouped(
        self, select: str, source: str, where: str, by: str = ""
    ) -> dict[str, list[dict[str, Any]]]:
        """An aggregate GROUP BY OwnerId (then `by`) over every owner, 2,000 groups a page, each
        page after the last owner id seen (GROUP BY results cannot be paged by the API)."""
        rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        after = None
        while True:
            keyset = f" AND OwnerId > {quote(after)}" if after else ""
            page = await self.query_all(
                f"SELECT OwnerId, {select}{by and ', ' + by} FROM {source} WHERE {where}{keyset}"
                f" GROUP BY OwnerId{by and ', ' + by} ORDER BY OwnerId LIMIT {GROUPS}"
            )
            full = len(page) == GROUPS
            if full and by:  # the last owner's groups may go on in the next page: read them there
                last = page[-1]["OwnerId"]
                page = [r for r in page if r["OwnerId"] != last]
                if not page:
                    raise IntegrationError(NAME, f"more than {GROUPS} groups for one owner")
            for r in page:
                rows[str(r["OwnerId"])].append(r)
            if not full:
                return rows
            after = str(page[-1]["OwnerId"])

    async def figures(
        self,
        metric: str,
        start: date,
        end: date,
        people: Sequence[Person],
        options: dict[str, str] | None = None,
    ) -> list[CrmFigure]:
        """Each person's figure; for a level (a rate, an average) only where there is one."""
        options = options or {}
        if metric not in MEASURES:
            raise IntegrationError(NAME, f"unknown metric {metric!r}")
        owners = await self.owners(people)
        deals: dict[str, list[Deal]] = {}
        values = await read(self, metric, start, end, options)
        if metric in ("closed_won_amount", "closed_won_count"):
            deals = await self.recent_deals(start, end, options)
        return [
            CrmFigure(
                email,
                metric,
                values.get(owner, 0.0),
                tuple(deals.get(owner, ())[:5]),
                MEASURES[metric],
            )
            for email, owner in owners.items()
            if owner in values or metric not in LEVELS
        ]

    async def recent_deals(
        self, start: date, end: date, options: dict[str, str]
    ) -> dict[str, list[Deal]]:
        """The last two weeks' won deals, newest first, for the nudge's 'deals behind it'."""
        since = max(start, end - timedelta(days=DEAL_DAYS))
        rows = await self.call(
            lambda sf: sf.query(
                f"SELECT Id, Name, Amount, CloseDate, OwnerId FROM Opportunity WHERE IsWon = true "
                f"AND CloseDate >= {soql_date(since)} AND CloseDate <= {soql_date(end)}"
                f"{filters(options)} ORDER BY CloseDate DESC LIMIT {GROUPS}"
            )
        )
        base = self.sf.base_url.split("/services/")[0] if self.sf is not None else ""
        found: dict[str, list[Deal]] = defaultdict(list)
        for r in rows["records"]:
            found[str(r["OwnerId"])].append(
                Deal(
                    str(r["Name"]),
                    float(r.get("Amount") or 0),
                    date.fromisoformat(r["CloseDate"]),
                    f"{base}/lightning/r/Opportunity/{r['Id']}/view" if base else None,
                )
            )
        return found


def from_settings(settings: Settings) -> SalesforceCrm | None:
    if not settings.salesforce_configured:
        return None
    key = settings.salesforce_private_key_file
    return SalesforceCrm(
        Credentials(
            username=settings.salesforce_username,
            password=settings.salesforce_password,
            security_token=settings.salesforce_security_token,
            consumer_key=settings.salesforce_consumer_key,
            private_key=key.read_text() if key else None,
            session_id=settings.salesforce_session_id,
            instance_url=settings.salesforce_instance_url,
            domain=settings.salesforce_domain,
        ),
        timeout=settings.salesforce_timeout_seconds,
    )

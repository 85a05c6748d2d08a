"""Salesforce through simple-salesforce: aggregate SOQL per metric, paged by owner id."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

import requests
from pydantic import BaseModel, ConfigDict, Field, model_validator
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
)

from bot.core.errors import AuthError, IntegrationError, TransientError
from bot.core.model import CrmFigure, Deal, Person

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


def soql_date(value: date) -> str:
    return value.isoformat()


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def filters(options: dict[str, str]) -> str:
    found = []
    if options.get("opportunity_type"):
        found.append(f"Type = {quote(options['opportunity_type'])}")
    if options.get("record_type"):
        found.append(f"RecordType.DeveloperName = {quote(options['record_type'])}")
    if options.get("currency"):
        found.append(f"CurrencyIsoCode = {quote(options['currency'])}")
    return "".join(f" AND {f}" for f in found)


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

    async def grouped(self, select: str, source: str, where: str) -> dict[str, dict[str, Any]]:
        """An aggregate GROUP BY OwnerId over every owner, 2,000 groups per page (keyset)."""
        rows: dict[str, dict[str, Any]] = {}
        after = ""
        while True:
            page = await self.query_all(
                f"SELECT OwnerId, {select} FROM {source} WHERE {where} AND OwnerId > {quote(after)}"
                f" GROUP BY OwnerId ORDER BY OwnerId LIMIT {GROUPS}"
            )
            rows |= {str(r["OwnerId"]): r for r in page}
            if len(page) < GROUPS:
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
        options = options or {}
        owners = await self.owners(people)
        period = f"CloseDate >= {soql_date(start)} AND CloseDate <= {soql_date(end)}"
        won = f"IsWon = true AND {period}{filters(options)}"
        deals: dict[str, list[Deal]] = {}
        if metric in ("closed_won_amount", "closed_won_count"):
            rows = await self.grouped("SUM(Amount) total, COUNT(Id) n", "Opportunity", won)
            key = "total" if metric == "closed_won_amount" else "n"
            values = {o: float(r.get(key) or 0) for o, r in rows.items()}
            deals = await self.recent_deals(start, end, options)
        elif metric == "meetings_held":
            where = (
                f"Type = {quote(options.get('event_type', ''))} AND ActivityDate >= "
                f"{soql_date(start)} AND ActivityDate <= {soql_date(end)}"
            )
            rows = await self.grouped("COUNT(Id) n", "Event", where)
            values = {o: float(r.get("n") or 0) for o, r in rows.items()}
        elif metric == "sales_cycle_days":
            values = await self.sales_cycle(won)
        elif metric == "custom":
            soql = (
                options["soql"]
                .replace("{start}", soql_date(start))
                .replace("{end}", soql_date(end))
            )
            values = {
                str(r["OwnerId"]): float(r.get("value") or 0) for r in await self.query_all(soql)
            }
        else:
            raise IntegrationError(NAME, f"unknown metric {metric!r}")
        return [
            CrmFigure(email, metric, values.get(owner, 0.0), tuple(deals.get(owner, ())[:5]))
            for email, owner in owners.items()
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

    async def sales_cycle(self, won: str) -> dict[str, float]:
        """Average days from created to closed-won (SOQL cannot aggregate a date difference)."""
        days: dict[str, list[int]] = defaultdict(list)
        for r in await self.query_all(
            f"SELECT OwnerId, CreatedDate, CloseDate FROM Opportunity WHERE {won}"
        ):
            created = datetime.fromisoformat(str(r["CreatedDate"]).replace("Z", "+00:00")).date()
            days[str(r["OwnerId"])].append((date.fromisoformat(r["CloseDate"]) - created).days)
        return {owner: sum(d) / len(d) for owner, d in days.items()}


class Binding(BaseModel):
    """A key result's options in the org file: `source: {salesforce: {metric: …, …}}`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    FORMS: ClassVar[tuple[str, ...]] = ("{salesforce: {metric: METRIC, …}}",)

    metric: Literal[
        "closed_won_amount", "closed_won_count", "meetings_held", "sales_cycle_days", "custom"
    ]
    opportunity_type: str | None = None
    record_type: str | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    event_type: str | None = None
    soql: str | None = None

    @model_validator(mode="after")
    def complete(self) -> Binding:
        if self.metric == "meetings_held" and not self.event_type:
            raise ValueError("meetings_held needs event_type (the Event Type counted, e.g. Demo)")
        if self.metric == "custom" and not (
            self.soql and "GROUP BY OwnerId" in self.soql and " value" in self.soql
        ):
            raise ValueError(
                "custom needs soql: an aggregate selecting `OwnerId` and a `value` alias, "
                "with `GROUP BY OwnerId` ({start} and {end} are replaced by the period)"
            )
        return self


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

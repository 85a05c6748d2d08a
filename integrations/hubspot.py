"""HubSpot through hubspot-api-client: closed-won deals per owner, read in bulk by CRM search."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import urllib3
from hubspot import HubSpot
from hubspot.crm.deals import Filter, FilterGroup, PublicObjectSearchRequest
from hubspot.crm.deals.exceptions import ApiException as DealsError
from hubspot.crm.owners.exceptions import ApiException as OwnersError
from pydantic import BaseModel, ConfigDict
from urllib3.util.retry import Retry

from bot.core.errors import AuthError, IntegrationError, TransientError
from bot.core.model import CrmFigure, Deal, Person

if TYPE_CHECKING:
    from bot.config import Settings

NAME = "HubSpot"
KIND = "hubspot"  # its registered kind: the org file's `ids: {hubspot: OWNER_ID}`
API_URL = "https://api.hubapi.com"
METRICS = ("closed_won_amount", "closed_won_count")
OPTIONS = {"pipeline": "pipeline", "deal_type": "dealtype"}  # binding option -> deal property
OWNERS_PER_SEARCH = 100  # owner ids in one IN filter
PAGE = 200  # the most results one search page holds
RESULTS_CAP = 10_000  # a search pages no further: carry on past the last id in a new search
OWNERS_PAGE = 500  # the most owners one page of the owners API holds
DEAL_DAYS = 14
PROPERTIES = ["dealname", "amount", "amount_in_home_currency", "closedate", "hubspot_owner_id"]
RETRIED = (429, 500, 502, 503, 504)
CONNECT_TIMEOUT = 5.0
TIMEOUT = 20.0  # HUBSPOT_TIMEOUT_SECONDS
MAX_PAUSE = 10.0  # seconds at most between two tries of a 429/5xx


def owner_id(person: Person) -> str | None:
    """The person's HubSpot owner id, when the org file gives it."""
    return person.ids.get(KIND)


def millis(day: date, *, end: bool = False) -> str:
    """A day's first (or last) millisecond in UTC, as HubSpot filters datetime properties."""
    moment = datetime.combine(day + timedelta(days=1) if end else day, time(), UTC)
    return str(int(moment.timestamp() * 1000) - (1 if end else 0))


def retries(attempts: int, backoff: float) -> Retry:
    """urllib3 waits out 429s and 5xx (Retry-After if given, else backoff); a refused or
    timed-out connection is not retried: the circuit breaker decides when to try again."""
    return Retry(
        total=attempts,
        connect=0,
        read=0,
        status=attempts,
        backoff_factor=backoff,
        backoff_max=MAX_PAUSE,
        status_forcelist=RETRIED,
        allowed_methods=None,  # the search is a POST that only reads
        raise_on_status=False,
    )


def failure(exc: DealsError | OwnersError) -> IntegrationError:
    """HubSpot's answer as the project's error: its own message, never the request."""
    status = int(exc.status or 0)
    try:
        body = json.loads(exc.body or "{}")
    except ValueError:
        body = {}
    message = body.get("message") or exc.reason or "no answer"
    if status == 0:
        return TransientError(NAME, f"unreachable: {message}")
    if status in (401, 403):
        return AuthError(NAME, f"token refused (HTTP {status}): {message}")
    if status in RETRIED:
        retry_after = (exc.headers or {}).get("Retry-After")
        policy = f" ({body['policyName']})" if body.get("policyName") else ""
        return TransientError(
            NAME,
            f"HTTP {status}{policy}: {message}",
            float(retry_after) if retry_after else None,
        )
    return IntegrationError(NAME, f"HTTP {status}: {message}")


def closed_on(value: str | None) -> date:
    return datetime.fromisoformat(value).astimezone(UTC).date() if value else date.min


class HubSpotCrm:
    """The CRM source: one deal search per 100 owners and 200 won deals, never one per person."""

    name = NAME

    def __init__(
        self,
        token: str,
        api_url: str = API_URL,
        timeout: float = TIMEOUT,
        attempts: int = 5,
        backoff: float = 1.0,
        portal_id: str | None = None,
    ) -> None:
        client = HubSpot(
            access_token=token, retry=retries(attempts, backoff), host=api_url.rstrip("/")
        )
        self.deals_api = client.crm.deals.search_api
        self.owners_api = client.crm.owners.owners_api
        timeouts = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.raw = {"_request_timeout": timeouts, "_preload_content": False}
        self.portal_id = portal_id
        self.owner_ids: dict[str, str] | None = None  # email -> owner id, read once
        self.calls = 0
        self.usage: tuple[int, int] | None = None

    def _run(self, work: Callable[[], Any]) -> dict[str, Any]:
        """Blocking: one API request (urllib3 waits out its 429s); every vendor error mapped here.
        The JSON is read as is: the client's models cost ~1 ms a deal to build."""
        self.calls += 1
        try:
            response = work()
        except (DealsError, OwnersError) as exc:
            raise failure(exc) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise TransientError(NAME, f"unreachable: {type(exc).__name__}") from exc
        daily = response.headers.get("X-HubSpot-RateLimit-Daily")
        left = response.headers.get("X-HubSpot-RateLimit-Daily-Remaining")
        if daily and left:
            self.usage = (int(daily) - int(left), int(daily))
        try:
            return dict(json.loads(response.data))
        except ValueError as exc:
            raise TransientError(NAME, "an answer that is not JSON") from exc

    async def call(self, work: Callable[[], Any]) -> dict[str, Any]:
        return await asyncio.to_thread(self._run, work)

    async def owners(self, people: Sequence[Person]) -> dict[str, str]:
        """HubSpot owner id per email: from the org file, else from the owners list (read once)."""
        found = {p.email: oid for p in people if (oid := owner_id(p))}
        if self.owner_ids is None and any(p.email not in found for p in people):
            self.owner_ids = {}
            after: str | None = None
            while True:
                page = await self.call(
                    partial(self.owners_api.get_page, limit=OWNERS_PAGE, after=after, **self.raw)
                )
                self.owner_ids |= {
                    str(o["email"]).lower(): str(o["id"]) for o in page["results"] if o.get("email")
                }
                after = page.get("paging", {}).get("next", {}).get("after")
                if after is None:
                    break
        known = self.owner_ids or {}
        return found | {p.email: known[p.email] for p in people if p.email not in found and
                        p.email in known}  # fmt: skip

    async def won_deals(
        self, owners: list[str], start: date, end: date, extra: list[Filter]
    ) -> list[tuple[str, dict[str, str | None]]]:
        """Every closed-won deal of these owners in the period, in id order, paged by `after`
        and, past 10,000 results, by a new search from the last id read."""
        base = [
            Filter(property_name="hubspot_owner_id", operator="IN", values=owners),
            Filter(property_name="hs_is_closed_won", operator="EQ", value="true"),
            Filter(
                property_name="closedate",
                operator="BETWEEN",
                value=millis(start),
                high_value=millis(end, end=True),
            ),
            *extra,
        ]
        found: list[tuple[str, dict[str, str | None]]] = []
        floor: str | None = None
        after: str | None = None
        while True:
            since = (
                [Filter(property_name="hs_object_id", operator="GT", value=floor)] if floor else []
            )
            request = PublicObjectSearchRequest(
                filter_groups=[FilterGroup(filters=base + since)],
                sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                properties=PROPERTIES,
                limit=PAGE,
                after=after,
            )
            page = await self.call(partial(self.deals_api.do_search, request, **self.raw))
            found += [(str(r["id"]), r["properties"]) for r in page["results"]]
            after = page.get("paging", {}).get("next", {}).get("after")
            if after is None or not page["results"]:
                return found
            if int(after) + PAGE > RESULTS_CAP:
                floor, after = found[-1][0], None

    async def figures(
        self,
        metric: str,
        start: date,
        end: date,
        people: Sequence[Person],
        options: dict[str, str] | None = None,
    ) -> list[CrmFigure]:
        if metric not in METRICS:
            raise IntegrationError(
                NAME, f"unknown metric {metric!r}: HubSpot reads {' and '.join(METRICS)}"
            )
        options = options or {}
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise IntegrationError(
                NAME, f"unknown option {unknown[0]!r}: HubSpot takes {', '.join(OPTIONS)}"
            )
        extra = [
            Filter(property_name=OPTIONS[k], operator="EQ", value=v) for k, v in options.items()
        ]
        owners = await self.owners(people)
        ids = sorted(set(owners.values()))
        amounts: dict[str, float] = defaultdict(float)
        counts: dict[str, float] = defaultdict(float)
        recent: dict[str, list[Deal]] = defaultdict(list)
        since = max(start, end - timedelta(days=DEAL_DAYS))
        for i in range(0, len(ids), OWNERS_PER_SEARCH):
            batch = ids[i : i + OWNERS_PER_SEARCH]
            for deal_id, p in await self.won_deals(batch, start, end, extra):
                owner = str(p.get("hubspot_owner_id") or "")
                amount = float(p.get("amount_in_home_currency") or p.get("amount") or 0)
                amounts[owner] += amount
                counts[owner] += 1
                if (day := closed_on(p.get("closedate"))) >= since:
                    recent[owner].append(Deal(str(p.get("dealname") or ""), amount, day,
                                              self.link(deal_id)))  # fmt: skip
        values = amounts if metric == "closed_won_amount" else counts
        return [
            CrmFigure(
                email,
                metric,
                values.get(owner, 0.0),
                tuple(sorted(recent.get(owner, ()), key=lambda d: d.closed_on, reverse=True)[:5]),
            )
            for email, owner in owners.items()
        ]

    def link(self, deal_id: str) -> str | None:
        if not self.portal_id:
            return None
        return f"https://app.hubspot.com/contacts/{self.portal_id}/record/0-3/{deal_id}"


def from_settings(settings: Settings) -> HubSpotCrm | None:
    """The HubSpot source when HUBSPOT_ACCESS_TOKEN is set (a private app's token)."""
    if not settings.hubspot_access_token:
        return None
    return HubSpotCrm(
        settings.hubspot_access_token,
        settings.hubspot_api_url,
        settings.hubspot_timeout_seconds,
        portal_id=settings.hubspot_portal_id,
    )


class Binding(BaseModel):
    """A key result's options in the org file: `source: {hubspot: {metric: …, …}}`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    FORMS: ClassVar[tuple[str, ...]] = ("{hubspot: {metric: METRIC, …}}",)

    metric: Literal["closed_won_amount", "closed_won_count"]
    pipeline: str | None = None
    deal_type: str | None = None

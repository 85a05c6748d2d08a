"""HubSpot: the real hubspot-api-client against a fake CRM search API, in bulk, with its limits."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import date

import pytest
from conftest import Conversation, with_sources
from fakes.hubspot import FakeHubSpot

from bot.config import Settings
from bot.core.checkins import plan, prompt_for
from bot.core.errors import AuthError, IntegrationError, TransientError
from bot.core.model import Identities, Person, Role
from bot.core.sync import sync
from bot.demo import SAMPLE_ORG, bound_to
from bot.orgfile import load_file
from integrations.hubspot import HubSpotCrm, from_settings

Q4 = (date(2026, 10, 1), date(2026, 11, 16))
ALICE_ID = "0058d000001AbCdAAK"  # the sample org file's CRM id for Alice


@pytest.fixture
async def hubspot() -> AsyncIterator[FakeHubSpot]:
    async with FakeHubSpot() as fake:
        yield fake


def crm(fake: FakeHubSpot, attempts: int = 5, backoff: float = 1.0) -> HubSpotCrm:
    return HubSpotCrm(
        fake.token, fake.url, attempts=attempts, backoff=backoff, portal_id="24681357"
    )


def rep(i: int, owner: str | None = None) -> Person:
    return Person(f"rep{i}@acme.example", f"Rep {i}", Role.SALES, ids=Identities.of(hubspot=owner))


async def test_many_owners_are_read_in_a_few_searches_with_the_deals_behind_them(
    hubspot: FakeHubSpot,
) -> None:
    people = []
    for i in range(250):
        owner = hubspot.add_owner(f"rep{i}@acme.example")
        hubspot.add_deal(owner, 1000 + i, "2026-10-20", name=f"Old {i}")
        hubspot.add_deal(owner, 500, "2026-11-12", name=f"New {i}")
        hubspot.add_deal(owner, 9999, "2026-11-13", won=False)  # lost: left out
        hubspot.add_deal(owner, 9999, "2026-09-30")  # before the period: left out
        people.append(rep(i, owner if i % 2 else None))  # every other one found by email
    source = crm(hubspot)
    figures = {f.person: f for f in await source.figures("closed_won_amount", *Q4, people)}
    assert len(figures) == 250
    assert all(figures[f"rep{i}@acme.example"].value == 1500 + i for i in range(250))
    [deal] = figures["rep7@acme.example"].deals  # only the last two weeks' deals, as Salesforce
    assert (deal.name, deal.amount, deal.closed_on) == ("New 7", 500, date(2026, 11, 12))
    assert deal.link and deal.link.startswith("https://app.hubspot.com/contacts/24681357/record/")
    searches = hubspot.searches()
    assert len(searches) == math.ceil(250 / 100)  # 100 owners per IN filter, never one per rep
    assert len([c for c, _ in hubspot.calls if "/owners" in c]) == 1  # every owner in one page
    assert source.usage == (len(hubspot.calls), 500_000)

    counted = await source.figures("closed_won_count", *Q4, people)
    assert {f.value for f in counted} == {2}
    assert len([c for c, _ in hubspot.calls if "/owners" in c]) == 1  # owners read once


async def test_more_than_ten_thousand_deals_are_paged_past_the_search_cap(
    hubspot: FakeHubSpot,
) -> None:
    owner = hubspot.add_owner("whale@acme.example")
    for i in range(10_250):
        hubspot.add_deal(owner, 10, "2026-11-02", name=f"Deal {i}")
    [figure] = await crm(hubspot).figures("closed_won_count", *Q4, [rep(0, owner)])
    assert figure.value == 10_250  # the fake refuses, as HubSpot does, to page past 10,000
    searches = hubspot.searches()
    assert len(searches) == math.ceil(10_250 / 200)  # full pages of 200, no wasted search
    restarted = [
        f for s in searches for f in s["filterGroups"][0]["filters"]
        if f["propertyName"] == "hs_object_id"
    ]  # fmt: skip
    assert len(restarted) == 2 and restarted[0]["operator"] == "GT"


async def test_a_rate_limited_search_is_waited_out(hubspot: FakeHubSpot) -> None:
    owner = hubspot.add_owner("alice@acme.example")
    hubspot.add_deal(owner, 5000, "2026-11-10")
    hubspot.fail_next(429, times=2)  # HubSpot's SECONDLY answer, twice
    [figure] = await crm(hubspot, backoff=0.25).figures("closed_won_amount", *Q4, [rep(0, owner)])
    assert figure.value == 5000
    assert len(hubspot.searches()) == 3
    assert hubspot.times[2] - hubspot.times[1] >= 0.5  # urllib3's backoff after the second 429

    hubspot.fail_next(429, times=10)
    with pytest.raises(TransientError, match=r"HTTP 429 \(SECONDLY\): You have reached"):
        await crm(hubspot, attempts=2, backoff=0).figures("closed_won_amount", *Q4, [rep(0, owner)])


async def test_a_bad_token_or_an_unknown_metric_is_one_clear_error(hubspot: FakeHubSpot) -> None:
    owner = hubspot.add_owner("alice@acme.example")
    wrong = HubSpotCrm("pat-na1-wrong", hubspot.url)
    with pytest.raises(AuthError, match=r"HubSpot: token refused \(HTTP 401\): Authentication"):
        await wrong.figures("closed_won_amount", *Q4, [rep(0, owner)])
    assert len(hubspot.calls) == 1  # not retried
    with pytest.raises(IntegrationError) as raised:
        await crm(hubspot).figures("meetings_held", *Q4, [rep(0, owner)])
    assert str(raised.value) == (
        "HubSpot: unknown metric 'meetings_held': HubSpot reads closed_won_amount and "
        "closed_won_count"
    )
    assert len(hubspot.calls) == 1  # refused before any call


async def test_sync_stores_a_snapshot_per_rep_and_the_nudge_names_hubspot(
    hubspot: FakeHubSpot, chat: Conversation
) -> None:
    hubspot.add_owner("alice@acme.example", ALICE_ID)
    bob = hubspot.add_owner("bob@acme.example")  # Bob has no CRM id in the org file
    for amount, day in ((120_000, "2026-10-08"), (95_000, "2026-10-22"), (85_000, "2026-11-05")):
        hubspot.add_deal(ALICE_ID, amount, day)
    hubspot.add_deal(ALICE_ID, 48_000, "2026-11-16", name="Initech")  # above her 300k on file
    hubspot.add_deal(bob, 52_000, "2026-11-16", name="Globex")
    source = from_settings(
        Settings(hubspot_access_token=hubspot.token, hubspot_api_url=hubspot.url)
    )
    assert source is not None and from_settings(Settings()) is None
    rebound = bound_to(load_file(SAMPLE_ORG).chart, {"salesforce": "hubspot"})
    await chat.deps.directory.import_chart(rebound)  # the sales key results now read HubSpot
    deps = with_sources(chat.deps, hubspot=source)
    chat.at("2026-11-16 16:30", "America/New_York")
    report = await sync(deps, "hubspot")
    assert report.ok, report.errors
    assert report.source == "HubSpot" and report.calls == 2  # one owners page, one search
    snapshots = await deps.snapshots.latest("hubspot", ["arr-alice", "arr-bob"])
    assert {k: s.value for k, s in snapshots.items()} == {"arr-alice": 348_000, "arr-bob": 52_000}
    [row] = [r for r in (await plan(deps)).planned if r.person == "alice@acme.example"]
    prompt = prompt_for(row)
    assert "HubSpot shows you closed 1 deal since your last update ($48,000)" in str(
        prompt.headline
    )
    assert "Initech" in str(prompt.links)  # the deal behind it, newest first

"""Salesforce: the real simple-salesforce over HTTPS to a fake, bulk reads, failures, fallback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import Conversation, with_sources
from fakes.salesforce import FakeSalesforce

from bot.core.checkins import plan, prompt_for
from bot.core.deps import Deps, FixedClock
from bot.core.errors import AuthError, IntegrationError
from bot.core.model import Identities, KeyResult, KrKind, Person, Role, SourceBinding
from bot.core.prompts import ActionId
from bot.core.sync import sync
from bot.core.syncing import SyncSchedule, sync_due
from bot.demo import SAMPLE_ORG
from bot.orgfile import load_file
from integrations import registry
from integrations.salesforce import Credentials, SalesforceCrm

ALICE_ID, BOB_ID = "0058d000001AbCdAAK", "0058d000002XyZwAAK"
Q4 = (date(2026, 10, 1), date(2026, 11, 16))
ALICE = "alice@acme.example"


@pytest.fixture
def salesforce(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSalesforce]:
    fake = FakeSalesforce(users_login={"bot@acme.example": ("pw", "TOKEN")})
    with fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_bundle)  # how requests trusts a CA
        fake.add_user(ALICE_ID, "alice@acme.example")
        fake.add_user(BOB_ID, "bob@acme.example")
        for amount, day in (
            (120_000, "2026-10-08"),
            (95_000, "2026-10-22"),
            (85_000, "2026-11-05"),
            (48_000, "2026-11-16"),
        ):
            fake.add_opportunity(
                ALICE_ID,
                amount,
                day,
                name=f"Deal {day}",
                created_date=datetime(2026, 9, 1, tzinfo=UTC),
            )
        fake.add_opportunity(BOB_ID, 52_000, "2026-11-16", name="Globex")
        fake.add_opportunity(BOB_ID, 99_000, "2026-11-02", opp_type="Renewal", name="Renewal")
        fake.add_opportunity(BOB_ID, 10_000, "2026-11-03", is_won=False, name="Lost")
        fake.add_event(ALICE_ID, "2026-11-10", event_type="Demo")
        fake.add_event(ALICE_ID, "2026-11-11", event_type="Demo")
        yield fake


def crm(fake: FakeSalesforce) -> SalesforceCrm:
    return SalesforceCrm(
        Credentials(
            username="bot@acme.example",
            password="pw",
            security_token="TOKEN",
            domain=fake.login_domain,
        )
    )


def person(name: str, crm_id: str | None = None) -> Person:
    return Person(
        f"{name}@acme.example", name.title(), Role.SALES, ids=Identities.of(salesforce=crm_id)
    )


async def test_closed_won_per_rep_in_one_query_with_the_deals_behind_it(
    salesforce: FakeSalesforce,
) -> None:
    source = crm(salesforce)
    alice, bob = person("alice", ALICE_ID), person("bob")  # Bob is found by email
    figures = {
        f.person: f
        for f in await source.figures(
            "closed_won_amount", *Q4, [alice, bob], {"opportunity_type": "New Business"}
        )
    }
    assert figures["alice@acme.example"].value == 348_000
    assert figures["bob@acme.example"].value == 52_000  # the renewal and the lost deal left out
    [deal] = [d for d in figures["alice@acme.example"].deals if d.closed_on == date(2026, 11, 16)]
    assert (deal.name, deal.amount) == ("Deal 2026-11-16", 48_000)
    assert deal.link and deal.link.startswith(salesforce.instance_url + "/lightning/r/Opportunity/")
    queries = [q for _, q in salesforce.calls if q]
    assert sum("GROUP BY OwnerId" in q for q in queries) == 1
    assert sum(q.startswith("SELECT Id, Email FROM User") for q in queries) == 1
    assert source.usage is not None and source.usage[1] == 15000
    counted = await source.figures("closed_won_count", *Q4, [alice, bob])
    assert {f.person: f.value for f in counted} == {"alice@acme.example": 4, "bob@acme.example": 2}


async def test_meetings_sales_cycle_and_custom_soql(salesforce: FakeSalesforce) -> None:
    source = crm(salesforce)
    alice = person("alice", ALICE_ID)
    [meetings] = await source.figures("meetings_held", *Q4, [alice], {"event_type": "Demo"})
    assert meetings.value == 2
    [cycle] = await source.figures("sales_cycle_days", *Q4, [alice])
    assert cycle.value == 57.2  # (37 + 51 + 65 + 76) / 4, to a tenth of a day
    soql = (
        "SELECT OwnerId, MAX(Amount) value FROM Opportunity WHERE IsWon = true AND "
        "CloseDate >= {start} AND CloseDate <= {end} GROUP BY OwnerId"
    )
    [biggest] = await source.figures("custom", *Q4, [alice], {"soql": soql})
    assert biggest.value == 120_000


async def test_more_than_two_thousand_reps_are_paged_by_owner(salesforce: FakeSalesforce) -> None:
    people = []
    for i in range(2100):
        owner = f"005{i:015d}"
        salesforce.add_opportunity(owner, 1000 + i, "2026-11-02")
        people.append(person(f"rep{i}", owner))
    source = crm(salesforce)
    figures = await source.figures("closed_won_amount", *Q4, people)
    assert sum(f.value for f in figures) == sum(1000 + i for i in range(2100))
    grouped = [q for _, q in salesforce.calls if "GROUP BY OwnerId" in q]
    assert len(grouped) == 2  # 2,000 groups per page, never one query per person


async def test_expired_sessions_log_in_again_and_bad_credentials_fail_clearly(
    salesforce: FakeSalesforce,
) -> None:
    source = crm(salesforce)
    alice = person("alice", ALICE_ID)
    await source.figures("closed_won_count", *Q4, [alice])
    salesforce.expire_sessions()
    salesforce.fail_next(503)
    [again] = await source.figures("closed_won_count", *Q4, [alice])
    assert again.value == 4 and len(salesforce.logins) == 2
    wrong = SalesforceCrm(
        Credentials(username="bot@acme.example", password="nope", domain=salesforce.login_domain)
    )
    with pytest.raises(AuthError, match="login refused"):
        await wrong.figures("closed_won_count", *Q4, [alice])


async def test_an_outage_turns_the_nudge_into_a_question(
    salesforce: FakeSalesforce, chat: Conversation
) -> None:
    salesforce.fail_next(503, times=20)
    deps = with_sources(chat.deps, salesforce=crm(salesforce))
    chat.at("2026-11-16 16:30", "America/New_York")
    report = await sync(deps, "salesforce")
    assert not report.ok and "HTTP 503" in report.errors[0]
    result = await plan(deps)
    [row] = [r for r in result.planned if r.person == "alice@acme.example"]
    prompt = prompt_for(row)
    assert str(prompt.headline) == "I couldn't reach Salesforce just now."
    assert [a.label for a in prompt.actions] == ["Adjust…", "Not now"]


async def test_jwt_bearer_and_session_id_logins(salesforce: FakeSalesforce) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    jwt_crm = SalesforceCrm(
        Credentials(
            username="bot@acme.example",
            consumer_key="3MVG9-key",
            private_key=pem,
            domain=salesforce.login_domain,
        )
    )
    [figure] = await jwt_crm.figures("closed_won_count", *Q4, [person("alice", ALICE_ID)])
    assert figure.value == 4 and salesforce.logins[-1][0] == "jwt"
    salesforce.sessions.add("00D000000000001!preset")  # a session someone already holds
    session = SalesforceCrm(
        Credentials(session_id="00D000000000001!preset", instance_url=salesforce.instance_url)
    )
    logins = len(salesforce.logins)
    [again] = await session.figures("closed_won_count", *Q4, [person("alice", ALICE_ID)])
    assert again.value == 4 and len(salesforce.logins) == logins  # no login call at all


async def test_salesforce_is_read_on_its_interval_and_again_just_before_a_rep_is_asked(
    salesforce: FakeSalesforce, chat: Conversation
) -> None:
    deps = replace(chat.deps, sources=registry.of({"salesforce": crm(salesforce)}))
    schedule = SyncSchedule(every=timedelta(hours=24))
    chat.at("2026-11-16 15:00", "America/New_York")
    [full] = await sync_due(deps, schedule)
    assert {who for who, _, _ in full.readings} == {"Alice Chen", "Bob Okafor"}

    salesforce.add_opportunity(ALICE_ID, 30_000, "2026-11-16", name="Late deal")
    chat.at("2026-11-16 16:00", "America/New_York")  # nobody is due: Salesforce is left alone
    calls = len(salesforce.calls)
    assert await sync_due(deps, schedule) == [] and len(salesforce.calls) == calls

    chat.at("2026-11-16 16:30", "America/New_York")  # Alice's check-in time; Bob's is Chicago's
    [just_in_time] = await sync_due(deps, schedule)
    assert [(who, kr) for who, kr, _ in just_in_time.readings] == [
        ("Alice Chen", "Close $600k in New ARR (Alice)"),
        ("Alice Chen", "Complete 45 demos"),
    ]
    [row] = [r for r in (await plan(deps)).planned if r.person == "alice@acme.example"]
    # the prompt shows the deal closed half an hour ago
    assert "Late deal" in str(prompt_for(row).links)

    chat.at("2026-11-16 16:45", "America/New_York")  # she has her prompt: no more reads for her
    assert await sync_due(deps, schedule) == []


def grouped_queries(fake: FakeSalesforce) -> list[str]:
    return [q for _, q in fake.calls if "GROUP BY" in q]


async def test_opportunities_created_counts_the_period_by_creation_day(
    salesforce: FakeSalesforce,
) -> None:
    for created in (
        datetime(2026, 10, 1, 0, 0, tzinfo=UTC),  # the period's first moment
        datetime(2026, 11, 16, 23, 30, tzinfo=UTC),  # the sync's day, late
        datetime(2026, 9, 30, 23, 59, tzinfo=UTC),  # the day before: not this period
        datetime(2026, 11, 17, 0, 0, tzinfo=UTC),  # tomorrow: not yet
    ):
        salesforce.add_opportunity(ALICE_ID, 5_000, "2026-12-20", is_won=False,
                                   created_date=created)  # fmt: skip
    salesforce.add_opportunity(ALICE_ID, 5_000, "2026-12-20", is_won=False, opp_type="Renewal",
                               created_date=datetime(2026, 10, 5, tzinfo=UTC))  # fmt: skip
    source = crm(salesforce)
    [created] = await source.figures(
        "opportunities_created", *Q4, [person("alice", ALICE_ID)],
        {"opportunity_type": "New Business"},
    )  # fmt: skip
    assert created.value == 2 and created.measure.noun == "new opportunities"
    [query] = grouped_queries(salesforce)
    assert "COUNT(Id)" in query and "GROUP BY OwnerId" in query


async def test_win_rate_is_won_over_closed_from_one_query_grouped_by_owner_and_outcome(
    salesforce: FakeSalesforce,
) -> None:
    salesforce.add_opportunity(ALICE_ID, 7_000, "2026-10-20", is_won=False, is_closed=True)
    salesforce.add_opportunity(BOB_ID, 9_000, "2026-11-04", is_won=False, is_closed=True)
    salesforce.add_opportunity(BOB_ID, 9_000, "2026-09-04", is_won=False, is_closed=True)  # Q3
    carol = "0058d000003CaRoAAK"
    salesforce.add_user(carol, "carol@acme.example")
    salesforce.add_opportunity(carol, 9_000, "2026-11-04", is_won=False)  # still open
    people = [person("alice", ALICE_ID), person("bob", BOB_ID), person("carol", carol)]
    figures = await crm(salesforce).figures("win_rate", *Q4, people)
    # Alice 4 won of 5 closed; Bob 2 of 3 (his "Lost" deal is still open); Carol closed none
    # and has no win rate at all, rather than 0%.
    assert {f.person: f.value for f in figures} == {
        "alice@acme.example": 80.0, "bob@acme.example": 66.7,
    }  # fmt: skip
    [query] = grouped_queries(salesforce)
    assert "GROUP BY OwnerId, IsWon" in query


async def test_win_rate_pages_never_split_a_reps_won_and_lost(salesforce: FakeSalesforce) -> None:
    people = []
    for i in range(1500):
        owner = f"005{i:015d}"
        salesforce.add_opportunity(owner, 1000, "2026-11-02")
        if i:  # rep 0 only won: the 2,000th group is rep 1000's first of two
            salesforce.add_opportunity(owner, 1000, "2026-11-03", is_won=False, is_closed=True)
        people.append(person(f"rep{i}", owner))
    figures = {f.person: f.value for f in await crm(salesforce).figures("win_rate", *Q4, people)}
    assert figures == {f"rep{i}@acme.example": 50.0 if i else 100.0 for i in range(1500)}
    assert len(grouped_queries(salesforce)) == 2


async def test_meetings_held_counts_events_and_tasks_of_the_type_done_in_the_period(
    salesforce: FakeSalesforce,
) -> None:
    salesforce.add_event(ALICE_ID, "2026-11-12", event_type="Demo", IsChild=True)  # a copy
    salesforce.add_event(ALICE_ID, "2026-11-20", event_type="Demo")  # planned, not held
    salesforce.add_event(ALICE_ID, "2026-11-12", event_type="Meeting")
    salesforce.add_task(ALICE_ID, datetime(2026, 11, 3, 15, tzinfo=UTC), task_type="Demo")
    salesforce.add_task(ALICE_ID, None, task_type="Demo", due="2026-11-04")  # not done
    salesforce.add_task(ALICE_ID, datetime(2026, 9, 3, tzinfo=UTC), task_type="Demo")  # Q3
    source, alice = crm(salesforce), [person("alice", ALICE_ID)]
    [events] = await source.figures("meetings_held", *Q4, alice, {"event_type": "Demo"})
    [tasks] = await source.figures("meetings_held", *Q4, alice, {"task_type": "Demo"})
    [both] = await source.figures(
        "meetings_held", *Q4, alice, {"event_type": "Demo", "task_type": "Demo"}
    )
    assert (events.value, tasks.value, both.value) == (2, 1, 3)
    assert [q.split(" FROM ")[1].split()[0] for q in grouped_queries(salesforce)] == [
        "Event", "Task", "Event", "Task",
    ]  # fmt: skip


async def test_sales_cycle_is_only_for_reps_with_deals_won(salesforce: FakeSalesforce) -> None:
    carol = "0058d000003CaRoAAK"
    salesforce.add_user(carol, "carol@acme.example")
    figures = await crm(salesforce).figures(
        "sales_cycle_days", *Q4, [person("alice", ALICE_ID), person("carol", carol)]
    )
    assert [(f.person, f.value) for f in figures] == [("alice@acme.example", 57.2)]


async def test_the_fake_refuses_what_salesforce_refuses(salesforce: FakeSalesforce) -> None:
    """So that a query Salesforce would refuse fails here too."""
    source = crm(salesforce)
    for soql, error in (
        ("SELECT OwnerId, AVG(CloseDate) d FROM Opportunity GROUP BY OwnerId",
         "does not support aggregate operator AVG"),
        ("SELECT OwnerId, COUNT(Id) n FROM Opportunity WHERE CreatedDate >= 2026-10-01 "
         "GROUP BY OwnerId", "must be of type dateTime"),
        ("SELECT CreatedDate, COUNT(Id) n FROM Opportunity GROUP BY CreatedDate",
         "can not be grouped"),
        ("SELECT OwnerId, IsWon, COUNT(Id) n FROM Opportunity GROUP BY OwnerId",
         "must be grouped or aggregated"),
    ):  # fmt: skip
        with pytest.raises(IntegrationError, match=error):
            await source.query_all(soql)


async def test_a_rep_is_asked_about_demos_held_and_then_about_the_sales_cycle(
    deps: Deps, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A leading key result (demos, counted from Events) and an efficiency one (the sales
    cycle, to decrease): each prompt cites the figure as it reads."""
    chart = load_file(SAMPLE_ORG).chart
    leading = KeyResult("demos-alice", "sales-growth", "Complete 45 demos", ALICE, unit="demos",
                        target=45, current=25, source=SourceBinding(
                            "salesforce", metric="meetings_held",
                            options=(("event_type", "Demo"),)))  # fmt: skip
    cycle = KeyResult("cycle-alice", "sales-growth", "Cut the sales cycle to 75 days", ALICE,
                      kind=KrKind.DECREASE, unit="days", start=90, target=75, current=90,
                      source=SourceBinding("salesforce", metric="sales_cycle_days"))  # fmt: skip
    manual = [replace(kr, source=SourceBinding()) if kr.owner == ALICE else kr
              for kr in chart.key_results]  # fmt: skip
    await deps.directory.import_chart(replace(chart, key_results=(*manual, leading, cycle)))
    with FakeSalesforce(users_login={"bot@acme.example": ("pw", "TOKEN")}) as fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_bundle)
        for day in range(1, 32):  # 31 demos held in the quarter so far
            fake.add_event(ALICE_ID, date(2026, 10, 1) + timedelta(days=day), event_type="Demo")
        fake.add_event(ALICE_ID, "2026-11-25", event_type="Demo")  # not held yet
        chat = Conversation(with_sources(deps, salesforce=crm(fake)), clock)

        chat.at("2026-11-16 16:30", "America/New_York")
        await chat.tick()
        said = chat.said()
        # no deal won yet: no sales cycle to tell of, so only the demos are asked about
        assert "Salesforce shows 31 demos this quarter: 31 of 45." in said
        assert "Update “Complete 45 demos” → 31 demos (69% of target 45 demos)?" in said
        assert "sales cycle" not in said
        await chat.reply(ALICE, ActionId.CONFIRM, "[1] Yes, update")

        for created, closed in (("2026-08-26", "2026-11-16"), ("2026-09-01", "2026-11-23")):
            fake.add_opportunity(ALICE_ID, 50_000, closed, created_date=datetime.fromisoformat(
                created + "T12:00:00+00:00"))  # fmt: skip
        chat.at("2026-11-17 16:30", "America/New_York")
        await chat.tick()
        said = chat.said()
        assert (
            "Salesforce shows your average sales cycle at 82 days for deals won this quarter "
            "(from 90, target 75)." in said
        )
        assert "Update “Cut the sales cycle to 75 days” → 82 days (53% of target 75 days)?" in said
        await chat.reply(ALICE, ActionId.CONFIRM, "[1] Yes, update")

        for day in (18, 19):
            fake.add_event(ALICE_ID, f"2026-11-{day}", event_type="Demo")
        chat.at("2026-11-19 16:30", "America/New_York")
        await chat.tick()
        said = chat.said()
        assert "Salesforce shows 2 demos since Mon 16 Nov: 33 of 45." in said
        kr = await deps.directory.key_result("cycle-alice")
        assert kr is not None and kr.current == 82

"""The sample CRM (the demo's and a fresh install's) answers as Salesforce does on the same data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time

import pytest
from fakes.salesforce import FakeSalesforce

from bot.core.errors import IntegrationError
from bot.core.model import CrmFigure, Identities, Person, Reads, Role
from bot.demo import SAMPLE_DATA
from integrations.salesforce import Credentials, SalesforceCrm
from integrations.sample import SampleCrm, read

IDS = {"alice@acme.example": "0058d000001AbCdAAK", "bob@acme.example": "0058d000002XyZwAAK"}
REPS = [Person(email, email[:5].title(), Role.SALES, ids=Identities.of(salesforce=crm_id))
        for email, crm_id in IDS.items()]  # fmt: skip
TUESDAY = (date(2026, 10, 1), date(2026, 11, 17))  # the quarter up to the demo's Tuesday


@pytest.fixture
def salesforce(monkeypatch: pytest.MonkeyPatch) -> Iterator[SalesforceCrm]:
    """Salesforce holding the bundled sample data: its deals, as opportunities, and its
    meetings, as events."""
    crm = read(SAMPLE_DATA)["crm"]
    with FakeSalesforce(users_login={"bot@acme.example": ("pw", "TOKEN")}) as fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_bundle)
        for email, crm_id in IDS.items():
            fake.add_user(crm_id, email)
        for d in crm["deals"]:
            created = datetime.combine(d["created_on"], time(12), UTC)
            fake.add_opportunity(IDS[d["owner"]], d["amount"], d["closed_on"], name=d["name"],
                                 created_date=created)  # fmt: skip
        for m in crm["meetings"]:
            fake.add_event(IDS[m["owner"]], m["held_on"], event_type=m["type"])
        login = Credentials(username="bot@acme.example", password="pw", security_token="TOKEN",
                            domain=fake.login_domain)  # fmt: skip
        yield SalesforceCrm(login)


def seen(figures: list[CrmFigure]) -> list[tuple[str, float, Reads, str, str]]:
    """What a prompt cites of each figure: its value, and what it is (its measure)."""
    return [(f.person, f.value, f.measure.reads, f.measure.noun, f.measure.scope)
            for f in sorted(figures, key=lambda f: f.person)]  # fmt: skip


async def test_demos_held_and_the_sales_cycle_read_as_salesforce_reads_them(
    salesforce: SalesforceCrm,
) -> None:
    sample = SampleCrm(SAMPLE_DATA)
    demos = {"event_type": "Demo"}
    held = await sample.figures("meetings_held", *TUESDAY, REPS, demos)
    # Alice's calls and her demo planned for the 25th are not demos held by Tuesday
    assert seen(held) == [
        ("alice@acme.example", 28, Reads.COUNT, "", ""),
        ("bob@acme.example", 1, Reads.COUNT, "", ""),
    ]
    assert seen(held) == seen(await salesforce.figures("meetings_held", *TUESDAY, REPS, demos))
    cycle = await sample.figures("sales_cycle_days", *TUESDAY, REPS)
    assert seen(cycle) == [  # days from created to won, averaged: (98 + 86 + 87 + 77 + 69) / 5
        ("alice@acme.example", 83.4, Reads.LEVEL, "average sales cycle", "deals won"),
        ("bob@acme.example", 90.0, Reads.LEVEL, "average sales cycle", "deals won"),
    ]
    assert seen(cycle) == seen(await salesforce.figures("sales_cycle_days", *TUESDAY, REPS))
    # no deal won yet: no cycle to tell of, from either
    early = (date(2026, 10, 1), date(2026, 10, 7))
    assert await sample.figures("sales_cycle_days", *early, REPS) == []
    assert await salesforce.figures("sales_cycle_days", *early, REPS) == []
    won = await sample.figures("closed_won_amount", *TUESDAY, REPS)
    assert seen(won) == seen(await salesforce.figures("closed_won_amount", *TUESDAY, REPS))
    assert [len(f.deals) for f in won] == [5, 3] and not any(f.deals for f in held + cycle)


async def test_a_metric_the_sample_cannot_read_is_one_clear_error() -> None:
    with pytest.raises(IntegrationError) as refused:
        await SampleCrm(SAMPLE_DATA).figures("win_rate", *TUESDAY, REPS)
    assert str(refused.value) == (
        "Salesforce: unknown metric 'win_rate': the sample data reads closed_won_amount, "
        "closed_won_count, meetings_held, sales_cycle_days"
    )

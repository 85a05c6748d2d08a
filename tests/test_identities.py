"""Identities as rows (person, kind, value): the migration that moves them, how they are read,
the org file's `ids:`, and the router that reaches each person where they are known."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection
from test_orgfile import HEAD, problems_of

from bot.channels.console import ConsoleChannel
from bot.channels.router import Router
from bot.core.deps import FixedClock
from bot.core.model import Identities, Person, Role
from bot.core.prompts import Outcome
from bot.core.rich import rich
from bot.orgfile import dump, load_text
from storage import Store, open_store, upgrade
from storage.db import alembic_config, make_engine

PEOPLE_0009 = [  # id, email, slack_id, teams_id, crm_id, tracker_id, as people held them
    (1, "ann@acme.example", "UANN", "aad-ann", "0058ANN", "acct-ann"),
    (2, "bob@acme.example", "UBOB", None, None, None),
    (3, "cy@acme.example", None, None, None, None),
]
COLUMNS = ("slack_id", "teams_id", "crm_id", "tracker_id")


async def downgrade(url: str, revision: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(url), revision)


async def people_columns(url: str) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(
                sa.text(f"SELECT id, email, {', '.join(COLUMNS)} FROM people ORDER BY id")
            )
            return [tuple(row) for row in found]
    finally:
        await engine.dispose()


async def test_the_migration_moves_each_id_into_a_row_of_its_kind_and_back(db_url: str) -> None:
    await upgrade(db_url, "0009")
    engine = make_engine(db_url)
    async with engine.begin() as connection:
        await connection.execute(
            sa.text("INSERT INTO organisations VALUES (1, 'acme', 'Acme', 'UTC')")
        )
        for person in PEOPLE_0009:
            await connection.execute(
                sa.text(
                    "INSERT INTO people (id, org_id, email, name, role, timezone, working_days, "
                    f"{', '.join(COLUMNS)}) VALUES (:id, 1, :email, :email, 'sales', 'UTC', "
                    "'0,1,2,3,4', :s, :t, :c, :k)"
                ),
                dict(zip(("id", "email", "s", "t", "c", "k"), person, strict=True)),
            )
    await engine.dispose()

    await upgrade(db_url)
    store = open_store(db_url, "acme")
    try:
        people = {p.email: p for p in await store.directory.people()}
        assert people["ann@acme.example"].ids.items() == (
            ("jira", "acct-ann"),
            ("salesforce", "0058ANN"),
            ("slack", "UANN"),
            ("teams", "aad-ann"),
        )
        assert people["bob@acme.example"].ids == Identities.of(slack="UBOB")
        assert not people["cy@acme.example"].ids
        found = await store.directory.person_by_identity("teams", "aad-ann")
        assert found is not None and found.email == "ann@acme.example"
        assert await store.directory.person_by_identity("slack", "aad-ann") is None  # by kind
        by_slack = await store.directory.people_by_identity("slack", ["UANN", "UBOB", "UNONE"])
        assert {k: p.email for k, p in by_slack.items()} == {
            "UANN": "ann@acme.example",
            "UBOB": "bob@acme.example",
        }
        await store.directory.link_identity("cy@acme.example", "hubspot", "501")  # a new kind
    finally:
        await store.close()

    await downgrade(db_url, "0009")
    assert await people_columns(db_url) == [
        (1, "ann@acme.example", "UANN", "aad-ann", "0058ANN", "acct-ann"),
        (2, "bob@acme.example", "UBOB", None, None, None),
        (3, "cy@acme.example", None, None, None, None),  # no column for hubspot: not kept
    ]
    await upgrade(db_url)  # and up again, to the same rows
    store = open_store(db_url, "acme")
    try:
        ann = await store.directory.person("ann@acme.example")
        assert ann is not None and ann.ids.get("salesforce") == "0058ANN"
    finally:
        await store.close()


async def test_a_person_removed_takes_their_identities_along(store: Store) -> None:
    await store.directory.link_identity("alice@acme.example", "slack", "UALICE")
    async with store.engine.begin() as connection:
        await connection.execute(sa.text("DELETE FROM people WHERE email = 'alice@acme.example'"))
        left = await connection.scalar(
            sa.text("SELECT count(*) FROM identities WHERE value = 'UALICE'")
        )
    assert left == 0


async def test_everyone_is_read_with_their_ids_in_two_queries_whatever_their_number(
    store: Store,
) -> None:
    for i, person in enumerate(await store.directory.people()):
        await store.directory.link_identity(person.email, "slack", f"U{i}")
        await store.directory.link_identity(person.email, "teams", f"aad-{i}")
    statements: list[str] = []

    def count(_conn: Connection, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", count)
    try:
        people = await store.directory.people()
    finally:
        sa.event.remove(store.engine.sync_engine, "before_cursor_execute", count)
    assert len(people) > 5 and all(p.ids.get("slack") and p.ids.get("teams") for p in people)
    assert len([s for s in statements if "people" in s or "identities" in s]) == 2


async def test_an_id_someone_has_is_never_linked_to_another(store: Store) -> None:
    await store.directory.link_identity("alice@acme.example", "slack", "USHARED")
    await store.directory.link_identity("bob@acme.example", "slack", "USHARED")
    found = await store.directory.person_by_identity("slack", "USHARED")
    bob = await store.directory.person("bob@acme.example")
    assert found is not None and found.email == "alice@acme.example"
    assert bob is not None and bob.ids.get("slack") is None
    await store.directory.link_identity("alice@acme.example", "slack", "UNEW")  # hers: replaced
    alice = await store.directory.person("alice@acme.example")
    assert alice is not None and alice.ids.get("slack") == "UNEW"


IDS = HEAD + "    ids: {slack: UANN, crm: 0058ANN, tracker: acct-ann, hubspot: '501'}\n"


def test_the_org_file_takes_any_kind_of_id_and_the_old_names_as_aliases() -> None:
    [ann] = load_text(IDS, "org.yaml").chart.people
    assert dict(ann.ids.items()) == {
        "slack": "UANN",
        "salesforce": "0058ANN",  # `crm:`, as files said before there were several CRMs
        "jira": "acct-ann",  # `tracker:`
        "hubspot": "501",
    }
    exported = dump(load_text(IDS, "org.yaml").chart)
    assert "ids: {slack: UANN, crm" not in exported
    assert "salesforce: 0058ANN" in exported and "jira: acct-ann" in exported
    assert load_text(exported, "org.yaml").chart.people == (ann,)


@pytest.mark.parametrize(
    ("ids", "problem"),
    [
        ("{Slack: UANN}", "'Slack': a kind of id is a lower-case name like slack or jira"),
        ("{crm: A1, salesforce: A1}", "salesforce is given twice ('salesforce' is another"),
        ("{slack: ''}", "slack: an id is 1 to 128 characters"),
    ],
)
def test_a_wrong_id_is_one_problem_on_its_line(ids: str, problem: str) -> None:
    [found] = problems_of(HEAD + f"    ids: {ids}\n")
    assert found.startswith("org.yaml:8: people[0].ids") and problem in found


def test_two_people_with_the_same_id_are_refused_on_their_lines() -> None:
    text = HEAD + (
        "    ids: {slack: U1}\n"
        "  - email: bob@acme.example\n    name: Bob\n    role: sales\n    ids: {slack: U1}\n"
    )
    assert problems_of(text) == [
        "org.yaml:8: people[0].ids.slack: slack id U1 is someone else's too",
        "org.yaml:12: people[1].ids.slack: slack id U1 is someone else's too",
    ]


def person(**ids: str) -> Person:
    return Person("ann@acme.example", "Ann", Role.SALES, ids=Identities.of(ids))


async def test_the_router_reaches_each_person_where_they_are_and_updates_where_it_sent() -> None:
    clock = FixedClock(datetime(2026, 11, 16, 9, tzinfo=UTC))
    said: dict[str, list[str]] = {"teams": [], "slack": []}  # as served: Teams preferred
    router = Router(
        {kind: ConsoleChannel(lines.append, clock) for kind, lines in said.items()},
        by_email={"slack"},
    )
    ref = await router.notify(person(slack="UANN"), rich("on Slack"))
    assert said["slack"] and not said["teams"] and ref == "slack|console:1"
    await router.notify(person(teams="aad", slack="UANN"), rich("both: Teams first"))
    assert any("both: Teams first" in line for line in said["teams"])
    await router.notify(person(), rich("nobody knows them: found by email"))
    assert any("found by email" in line for line in said["slack"])
    said["slack"].clear()
    # Sent on Slack, then they became known on Teams: the update goes to the Slack message.
    await router.replace(person(teams="aad", slack="UANN"), ref, Outcome(True, rich("Updated")))
    assert "updates message console:1" in "\n".join(said["slack"])
    assert not any("Updated" in line for line in said["teams"])

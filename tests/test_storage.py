"""Storage on SQLite and a real PostgreSQL: migrations, import, outbox keys, isolation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from bot.app import open_app
from bot.config import Settings
from bot.core.errors import ConfigError
from bot.core.model import CheckIn, CheckInKind, CheckInState, Organisation
from bot.demo import SAMPLE_ORG
from bot.orgfile import dump, load_file, load_text
from storage import Store, open_store, upgrade
from storage.db import schema_is_current
from storage.models import Base

NOW = datetime(2026, 11, 16, 12, tzinfo=UTC)


async def test_migrations_bring_an_empty_database_to_head(db_url: str) -> None:
    store = open_store(db_url)
    try:
        assert not await schema_is_current(store.engine)
        await upgrade(db_url)
        assert await schema_is_current(store.engine)
        await upgrade(db_url)  # a second upgrade is a no-op
    finally:
        await store.close()


async def test_an_unmigrated_database_is_refused_with_a_clear_message(db_url: str) -> None:
    with pytest.raises(ConfigError, match="run `goalnudge db upgrade`"):
        async with open_app(Settings(database_url=db_url)):
            pass


async def test_reimporting_the_same_file_changes_nothing(store: Store) -> None:
    chart = load_file(SAMPLE_ORG).chart
    report = await store.directory.import_chart(chart)
    assert not report.changed
    renamed = replace(chart, people=(replace(chart.people[0], name="Lena O."), *chart.people[1:]))
    report = await store.directory.import_chart(renamed)
    assert report.updated == ("person lena@acme.example (name)",) and not report.created
    lena = await store.directory.person("lena@acme.example")
    assert lena is not None and lena.name == "Lena O."


async def test_reimport_keeps_progress_made_since(store: Store) -> None:
    from bot.core.model import ProgressUpdate, UpdateSource
    from bot.core.ports import Change

    update = ProgressUpdate(
        "arr-alice", "alice@acme.example", UpdateSource.MANUAL, NOW, value=400_000, previous=300_000
    )
    await store.ledger.apply(Change("e1", NOW, updates=(update,)))
    await store.directory.import_chart(load_file(SAMPLE_ORG).chart)
    kr = await store.directory.key_result("arr-alice")
    assert kr is not None and kr.current == 400_000


async def test_export_then_import_round_trips(store: Store) -> None:
    exported = dump(await store.directory.export_chart())
    again = load_text(exported, "exported.yaml").chart
    assert again == await store.directory.export_chart()
    assert not (await store.directory.import_chart(again)).changed


async def test_one_prompt_per_person_and_period_whatever_its_kind(store: Store) -> None:
    row = CheckIn(
        "erin@acme.example", CheckInKind.RISK_EXPLAIN, "2026-W47", CheckInState.PLANNED, NOW
    )
    first = await store.outbox.add(row)
    assert first is not None and first.id is not None
    assert await store.outbox.add(row) is None
    assert await store.outbox.add(replace(row, kind=CheckInKind.CONFIDENCE_CHECK)) is None
    notice = replace(row, kind=CheckInKind.NOTICE, period="blocker:1")
    assert await store.outbox.add(notice) is not None  # notices are not prompts
    assert await store.outbox.add(replace(row, period="2026-W48")) is not None
    claimed = await store.outbox.claim(10, NOW)
    assert [(r.kind, r.period) for r in claimed] == [
        (CheckInKind.RISK_EXPLAIN, "2026-W47"),
        (CheckInKind.NOTICE, "blocker:1"),
        (CheckInKind.RISK_EXPLAIN, "2026-W48"),
    ]


async def test_organisations_see_nothing_of_each_other(store: Store, db_url: str) -> None:
    other = load_file(SAMPLE_ORG).chart
    other = replace(
        other,
        organisation=Organisation("globex", "Globex"),
        people=other.people[:2],
        teams=(),
        objectives=(),
        key_results=(),
    )
    globex = open_store(db_url, "globex")
    try:
        await globex.directory.import_chart(other)
        assert [p.email for p in await globex.directory.people()] == [
            "lena@acme.example",
            "sam@acme.example",
        ]
        assert await globex.directory.key_result("arr-alice") is None
        assert await globex.directory.teams() == []
        assert len(await store.directory.people()) == 8
    finally:
        await globex.close()
    anyone = open_store(db_url)
    try:
        with pytest.raises(ConfigError, match="Several organisations"):
            await anyone.directory.people()
    finally:
        await anyone.close()


async def test_the_migrated_schema_is_exactly_what_the_models_describe(db_url: str) -> None:
    await upgrade(db_url)
    store = open_store(db_url)

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    try:
        async with store.engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await store.close()

"""Key results stored before there were kinds beyond "metric" read as "increase" after 0013."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import command

from bot.core.measure import value_text
from bot.core.model import KrKind
from storage import open_store, upgrade
from storage.db import alembic_config, make_engine


async def test_a_metric_key_result_from_before_0013_is_an_increase_and_keeps_its_numbers(
    db_url: str,
) -> None:
    await upgrade(db_url, "0012")
    engine = make_engine(db_url)
    async with engine.begin() as connection:
        await connection.execute(
            sa.text("INSERT INTO organisations VALUES (1, 'acme', 'Acme', 'UTC')")
        )
        await connection.execute(
            sa.text(
                "INSERT INTO key_results (org_id, key, objective, title, owner, kind, unit, "
                "start, target, quota, current, status, source_kind, source_options, position) "
                "VALUES (1, 'arr', 'growth', 'Close $600k', 'ann@acme.example', 'metric', '$', "
                "0, 720000, 600000, 445000, 'on_track', 'manual', '{}', 0)"
            )
        )
    await upgrade(db_url)
    store = open_store(db_url, "acme")
    try:
        kr = await store.directory.key_result("arr")
    finally:
        await store.close()
    assert kr is not None and kr.kind is KrKind.INCREASE and kr.checkpoints == ()
    assert value_text(kr) == "$445,000 — 74% of quota $600,000, 62% of target $720,000"

    await asyncio.to_thread(command.downgrade, alembic_config(db_url), "0012")
    async with engine.connect() as connection:
        kind = await connection.scalar(sa.text("SELECT kind FROM key_results"))
    await engine.dispose()
    assert kind == "metric"

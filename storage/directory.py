"""The organisation's people, teams and goals: read, imported idempotently, exported."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.core.model import Identities, KeyResult, Objective, Organisation, OrgChart, Person, Team
from bot.core.ports import ImportReport
from storage import convert
from storage.db import Scope, dialect, upsert
from storage.models import (
    Base,
    IdentityRow,
    KeyResultRow,
    ObjectiveRow,
    OrganisationRow,
    PersonRow,
    TeamRow,
)

Row = TypeVar("Row", bound=Base)
log = logging.getLogger("goalnudge.storage")
UNIQUE_KIND = ("person_id", "kind")  # a person has one id of each kind


class SqlDirectory:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self._staffed = False  # people, once imported, stay: asked until the first is seen
        self._asking = asyncio.Lock()  # a burst of first requests asks once, not once each

    async def _all(self, model: type[Row], *where: Any, order: Any = None) -> list[Row]:
        async with self.scope.sessions() as session:
            org = await self.scope.org_id(session)
            table = model.__table__.c
            query = select(model).where(table.org_id == org, *where)
            query = query.order_by(order if order is not None else table.id)
            return list((await session.scalars(query)).all())

    async def _people(self, *where: Any) -> list[Person]:
        """People and their ids as plain rows: two queries, however many people."""
        async with self.scope.sessions() as session:
            org = await self.scope.org_id(session)
            chosen = (PersonRow.org_id == org, *where)
            query = select(*PersonRow.__table__.columns).where(*chosen).order_by(PersonRow.id)
            rows = (await session.execute(query)).all()
            ids: dict[int, list[tuple[str, str]]] = defaultdict(list)
            if rows:
                of = select(IdentityRow.person_id, IdentityRow.kind, IdentityRow.value)
                # Some people: through the (person, kind) key, not a scan of the org's ids.
                chosen_ids = IdentityRow.person_id.in_([r.id for r in rows])
                of = of.where(chosen_ids if where else IdentityRow.org_id == org)
                for person_id, kind, value in await session.execute(of):
                    ids[person_id].append((kind, value))
            return [convert.person(r, ids[r.id]) for r in rows]

    async def person(self, email: str) -> Person | None:
        found = await self._people(PersonRow.email == email.strip().lower())
        return found[0] if found else None

    async def person_by_identity(self, kind: str, value: str) -> Person | None:
        return (await self.people_by_identity(kind, [value])).get(value)

    async def people_by_identity(self, kind: str, values: Sequence[str]) -> dict[str, Person]:
        """Whom each id of `kind` belongs to, through the (org, kind, value) key."""
        owners = select(IdentityRow.person_id).where(
            IdentityRow.org_id == PersonRow.org_id,
            IdentityRow.kind == kind,
            IdentityRow.value.in_(list(set(values))),
        )
        found = await self._people(PersonRow.id.in_(owners))
        return {value: p for p in found if (value := p.ids.get(kind)) is not None}

    async def people(self, emails: Sequence[str] | None = None) -> list[Person]:
        where = [PersonRow.email.in_(list(emails))] if emails is not None else []
        return await self._people(*where)

    async def teams(self) -> list[Team]:
        return [convert.team(r) for r in await self._all(TeamRow)]

    async def objectives(self) -> list[Objective]:
        rows = await self._all(ObjectiveRow, order=ObjectiveRow.position)
        return [convert.objective(r) for r in rows]

    async def key_results(
        self, owners: Sequence[str] | None = None, keys: Sequence[str] | None = None
    ) -> list[KeyResult]:
        where = [KeyResultRow.owner.in_(list(owners))] if owners is not None else []
        where += [KeyResultRow.key.in_(list(keys))] if keys is not None else []
        rows = await self._all(KeyResultRow, *where, order=KeyResultRow.position)
        return [convert.key_result(r) for r in rows]

    async def key_result(self, key: str) -> KeyResult | None:
        rows = await self._all(KeyResultRow, KeyResultRow.key == key)
        return convert.key_result(rows[0]) if rows else None

    async def organisation(self) -> Organisation:
        async with self.scope.sessions() as session:
            org = await session.get(OrganisationRow, await self.scope.org_id(session))
            assert org is not None
            return Organisation(org.slug, org.name, org.timezone)

    async def staffed(self) -> bool:
        if self._staffed:
            return True
        async with self._asking:
            if self._staffed:
                return True
            async with self.scope.sessions() as session:
                org = await self.scope.org_id(session)
                anyone = select(PersonRow.id).where(PersonRow.org_id == org).limit(1)
                self._staffed = await session.scalar(anyone) is not None
        return self._staffed

    async def import_chart(self, chart: OrgChart) -> ImportReport:
        """Create or update everything the chart declares; the same chart twice changes nothing."""
        created: list[str] = []
        updated: list[str] = []
        o = chart.organisation
        async with self.scope.sessions() as session, session.begin():
            org_id = await self.scope.org_id(session, create=(o.slug, o.name, o.timezone))
            org = await session.get(OrganisationRow, org_id)
            assert org is not None
            if (org.name, org.timezone) != (o.name, o.timezone):
                org.name, org.timezone = o.name, o.timezone
                updated.append(f"organisation {org.slug}")

            async def upsert(
                model: type[Base],
                key_column: str,
                key: str,
                label: str,
                fields: dict[str, Any],
                position: int | None = None,
                on_create: dict[str, Any] | None = None,
                ids: Identities | None = None,
            ) -> None:
                column = getattr(model, key_column)
                query = select(model).where(model.__table__.c.org_id == org_id, column == key)
                if ids is not None:
                    query = query.options(selectinload(PersonRow.identities))
                row = (await session.scalars(query)).first()
                if position is not None:
                    fields = fields | {"position": position}
                if row is None:
                    session.add(row := model(org_id=org_id, **((on_create or {}) | fields)))
                    if isinstance(row, PersonRow) and ids is not None:
                        convert.set_identities(row, ids)
                    created.append(f"{label} {key}")
                    return
                changed = {k: v for k, v in fields.items() if getattr(row, k) != v}
                for name, value in changed.items():
                    setattr(row, name, value)
                more = []
                if isinstance(row, PersonRow) and ids is not None:
                    more = convert.set_identities(row, ids)
                names = sorted([*changed, *more])
                if names:
                    updated.append(f"{label} {key} ({', '.join(names)})")

            for p in chart.people:
                await upsert(
                    PersonRow,
                    "email",
                    p.email,
                    "person",
                    convert.person_fields(p),
                    on_create={"timezone": p.timezone, "timezone_known": p.timezone_known},
                    ids=p.ids,
                )
            for t in chart.teams:
                await upsert(TeamRow, "name", t.name, "team", convert.team_fields(t))
            for i, obj in enumerate(chart.objectives):
                await upsert(
                    ObjectiveRow, "key", obj.key, "objective", convert.objective_fields(obj), i
                )
            for i, kr in enumerate(chart.key_results):
                await upsert(
                    KeyResultRow,
                    "key",
                    kr.key,
                    "key result",
                    convert.key_result_fields(kr, with_progress=False),
                    i,
                    {"current": kr.current, "status": kr.status.value, "confidence": kr.confidence},
                )
        return ImportReport(tuple(created), tuple(updated))

    async def export_chart(self) -> OrgChart:
        return OrgChart(
            organisation=await self.organisation(),
            people=tuple(await self.people()),
            teams=tuple(await self.teams()),
            objectives=tuple(await self.objectives()),
            key_results=tuple(await self.key_results()),
        )

    async def link_identity(
        self, email: str, kind: str, value: str, timezone: str | None = None
    ) -> None:
        """Remember how another system knows a person; adopt its timezone if we had none."""
        async with self.scope.sessions() as session, session.begin():
            org = await self.scope.org_id(session)
            row = (
                await session.scalars(
                    select(PersonRow).where(PersonRow.org_id == org, PersonRow.email == email)
                )
            ).first()
            if row is None:
                return
            taken = await session.scalar(
                select(IdentityRow.person_id).where(
                    IdentityRow.org_id == org, IdentityRow.kind == kind, IdentityRow.value == value
                )
            )
            if taken is not None and taken != row.id:
                log.warning("a %s id already belongs to someone else: not linked to another", kind)
            else:  # two requests may link the same person at once: the last one stays
                ids = {"org_id": org, "person_id": row.id, "kind": kind, "value": value}
                await session.execute(upsert(dialect(session), IdentityRow, UNIQUE_KIND, ids))
            if timezone and not row.timezone_known:
                row.timezone, row.timezone_known = timezone, True

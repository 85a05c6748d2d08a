"""Slack workspaces installed through OAuth (bot token encrypted), and the OAuth states."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.errors import ConfigError
from storage.models import OrganisationRow, SlackInstallationRow, SlackOAuthStateRow
from storage.secrets import VARIABLE, SecretBox


@dataclass(frozen=True)
class Installed:
    """A workspace goalnudge is installed in; `org_slug` is the organisation it is."""

    team_id: str
    team_name: str
    bot_token: str
    org_slug: str = ""
    bot_user_id: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    enterprise_id: str | None = None
    bot_scopes: str = ""
    installer_user_id: str | None = None
    installed_at: datetime | None = None


class SqlInstallations:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], box: SecretBox | None) -> None:
        self.sessions = sessions
        self.box = box

    def _box(self) -> SecretBox:
        if self.box is None:
            raise ConfigError(f"{VARIABLE}: not set; it is needed to store Slack tokens")
        return self.box

    async def save(self, found: Installed, timezone: str) -> str:
        """Store (or replace) the workspace's installation. A workspace installed for the first
        time becomes the organisation `found.org_slug`, created if there is none yet.
        Returns the slug of the workspace's organisation."""
        ciphertext = self._box().encrypt(found.bot_token)
        async with self.sessions() as session, session.begin():
            row = await session.scalar(
                select(SlackInstallationRow).where(SlackInstallationRow.team_id == found.team_id)
            )
            if row is None:
                org = await session.scalar(
                    select(OrganisationRow).where(OrganisationRow.slug == found.org_slug)
                )
                if org is None:
                    org = OrganisationRow(
                        slug=found.org_slug, name=found.team_name, timezone=timezone
                    )
                    session.add(org)
                    await session.flush()
                row = SlackInstallationRow(org_id=org.id, team_id=found.team_id)
                session.add(row)
            row.team_name = found.team_name
            row.enterprise_id = found.enterprise_id
            row.app_id = found.app_id
            row.bot_id = found.bot_id
            row.bot_user_id = found.bot_user_id
            row.bot_scopes = found.bot_scopes
            row.installer_user_id = found.installer_user_id
            row.bot_token_encrypted = ciphertext
            row.installed_at = found.installed_at or datetime.now(UTC)
            await session.flush()
            slug = await session.scalar(
                select(OrganisationRow.slug).where(OrganisationRow.id == row.org_id)
            )
        return str(slug)

    async def _select(self, *where: ColumnElement[bool]) -> list[Installed]:
        query = (
            select(SlackInstallationRow, OrganisationRow.slug)
            .join(OrganisationRow, OrganisationRow.id == SlackInstallationRow.org_id)
            .where(*where)
            .order_by(SlackInstallationRow.id)
        )
        async with self.sessions() as session:
            rows = (await session.execute(query)).all()
        box = self._box() if rows else None
        return [
            Installed(
                team_id=row.team_id,
                team_name=row.team_name,
                bot_token=box.decrypt(row.bot_token_encrypted) if box else "",
                org_slug=slug,
                bot_user_id=row.bot_user_id,
                bot_id=row.bot_id,
                app_id=row.app_id,
                enterprise_id=row.enterprise_id,
                bot_scopes=row.bot_scopes,
                installer_user_id=row.installer_user_id,
                installed_at=row.installed_at,
            )
            for row, slug in rows
        ]

    async def find(self, team_id: str) -> Installed | None:
        found = await self._select(SlackInstallationRow.team_id == team_id)
        return found[0] if found else None

    async def for_org(self, slug: str) -> Installed | None:
        found = await self._select(OrganisationRow.slug == slug)
        return found[0] if found else None

    async def all(self) -> list[Installed]:
        return await self._select()

    async def delete(self, team_id: str) -> None:
        """Forget the workspace's token (uninstalled); its organisation and history stay."""
        async with self.sessions() as session, session.begin():
            await session.execute(
                delete(SlackInstallationRow).where(SlackInstallationRow.team_id == team_id)
            )


class SqlOAuthStates:
    """Each state is issued once and consumed once, before it expires.

    Anyone may ask for a state (GET /slack/install needs no login), so at most `cap` are live:
    expired ones are dropped on every issue, and when `cap` are live the newest of them makes
    way. An install already under way is never pushed out by a flood of later requests; once a
    flood stops, a new install works again at once, and the flood's states expire within `ttl`.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ttl: timedelta = timedelta(minutes=10),
        cap: int = 1000,
    ) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self.cap = cap

    async def issue(self) -> str:
        state = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        async with self.sessions() as session, session.begin():
            await session.execute(
                delete(SlackOAuthStateRow).where(SlackOAuthStateRow.expires_at < now)
            )
            live = await session.scalar(select(func.count()).select_from(SlackOAuthStateRow)) or 0
            if live >= self.cap:
                newest = (
                    select(SlackOAuthStateRow.state)
                    .order_by(SlackOAuthStateRow.expires_at.desc())
                    .limit(live - self.cap + 1)
                )
                await session.execute(
                    delete(SlackOAuthStateRow).where(
                        SlackOAuthStateRow.state.in_(newest.scalar_subquery())
                    )
                )
            session.add(SlackOAuthStateRow(state=state, expires_at=now + self.ttl))
        return state

    async def consume(self, state: str) -> bool:
        async with self.sessions() as session, session.begin():
            gone = await session.execute(
                delete(SlackOAuthStateRow).where(
                    SlackOAuthStateRow.state == state,
                    SlackOAuthStateRow.expires_at >= datetime.now(UTC),
                )
            )
            return gone.rowcount == 1  # type: ignore[attr-defined]  # a DELETE/UPDATE gives a CursorResult

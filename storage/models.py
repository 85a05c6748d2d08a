"""SQLAlchemy 2 typed models; every row belongs to one organisation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so we store naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, Any]: JSON}
    if TYPE_CHECKING:  # every model here is mapped to a Table (DeclarativeBase says FromClause)
        __table__: ClassVar[Table]


def org_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)


class OrganisationRow(Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")


class PersonRow(Base):
    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("org_id", "email"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    timezone: Mapped[str] = mapped_column(String(64))
    timezone_known: Mapped[bool] = mapped_column(Boolean, default=True)
    country: Mapped[str | None] = mapped_column(String(2))
    checkin_days: Mapped[str | None] = mapped_column(String(20))
    checkin_at: Mapped[str | None] = mapped_column(String(5))
    manager: Mapped[str | None] = mapped_column(String(320))
    working_days: Mapped[str] = mapped_column(String(20), default="0,1,2,3,4")
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    snoozed_until: Mapped[date | None] = mapped_column(Date)
    # Written through the import only; reads select (person, kind, value) as plain rows, since
    # ORM objects for every identity cost a round of 10,000 people 0.6 s.
    identities: Mapped[list[IdentityRow]] = relationship(
        lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )


class IdentityRow(Base):
    """How another system (a chat platform, a CRM, a tracker) knows a person: one row a kind."""

    __tablename__ = "identities"
    __table_args__ = (
        UniqueConstraint("org_id", "kind", "value"),  # also the index lookups by id go through
        UniqueConstraint("person_id", "kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(128))


class TeamRow(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("org_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    name: Mapped[str] = mapped_column(String(200))
    manager: Mapped[str] = mapped_column(String(320))
    members: Mapped[str] = mapped_column(Text, default="")
    digest_channel: Mapped[str | None] = mapped_column(String(200))


class ObjectiveRow(Base):
    __tablename__ = "objectives"
    __table_args__ = (UniqueConstraint("org_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    key: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    owner: Mapped[str | None] = mapped_column(String(320))
    team: Mapped[str | None] = mapped_column(String(200))
    parent: Mapped[str | None] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)


class KeyResultRow(Base):
    __tablename__ = "key_results"
    __table_args__ = (UniqueConstraint("org_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    key: Mapped[str] = mapped_column(String(100))
    objective: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(320), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(40), default="")
    start: Mapped[float] = mapped_column(Float, default=0.0)
    target: Mapped[float] = mapped_column(Float)
    quota: Mapped[float | None] = mapped_column(Float)
    current: Mapped[float] = mapped_column(Float, default=0.0)
    due: Mapped[date | None] = mapped_column(Date)
    confidence: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="on_track")
    source_kind: Mapped[str] = mapped_column(String(20), default="manual")
    source_metric: Mapped[str | None] = mapped_column(String(60))
    source_epic: Mapped[str | None] = mapped_column(String(60))
    source_query: Mapped[str | None] = mapped_column(Text)
    source_options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    checkpoints: Mapped[list[Any] | None] = mapped_column(JSON)  # [[ISO day, value], …]
    position: Mapped[int] = mapped_column(Integer, default=0)


class CheckInRow(Base):
    """The outbox: one row per person, slot and period, whatever process planned it."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("org_id", "person", "slot", "period"),
        Index("ix_checkins_state", "org_id", "state"),
        Index("ix_checkins_period", "org_id", "slot", "period"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    person: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(30))
    slot: Mapped[str] = mapped_column(String(30))
    period: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message_ref: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    skip_reason: Mapped[str | None] = mapped_column(String(200))
    answered_with: Mapped[str | None] = mapped_column(String(20))


class ProgressUpdateRow(Base):
    __tablename__ = "progress_updates"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    kr: Mapped[str] = mapped_column(String(100), index=True)
    actor: Mapped[str] = mapped_column(String(320))
    source: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(index=True)
    value: Mapped[float | None] = mapped_column(Float)
    previous: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str | None] = mapped_column(String(20))
    confidence: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)


class BlockerRow(Base):
    __tablename__ = "blockers"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    kr: Mapped[str] = mapped_column(String(100), index=True)
    person: Mapped[str] = mapped_column(String(320))
    note: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    raised_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class SnapshotRow(Base):
    __tablename__ = "snapshots"
    __table_args__ = (Index("ix_snapshots_lookup", "org_id", "source", "subject", "seen_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    source: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(100))
    metric: Mapped[str] = mapped_column(String(60))
    value: Mapped[float] = mapped_column(Float)
    seen_at: Mapped[datetime]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ProcessedEventRow(Base):
    """Answer ids already applied: the second delivery of the same id changes nothing."""

    __tablename__ = "processed_events"
    __table_args__ = (
        UniqueConstraint("org_id", "event_id"),
        Index("ix_processed_events_at", "org_id", "at"),  # old ids forgotten cheaply
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    event_id: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]


class InboxRow(Base):
    """An inbound answer, recorded before the ack: pending → applied → shown."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("org_id", "key"),
        Index("ix_inbox_open", "org_id", "shown_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    key: Mapped[str] = mapped_column(String(200))
    platform: Mapped[str] = mapped_column(String(40))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    applied_at: Mapped[datetime | None]
    shown_at: Mapped[datetime | None]
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DigestRow(Base):
    __tablename__ = "digests"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    team: Mapped[str] = mapped_column(String(200))
    posted_at: Mapped[datetime]


class ConversationRow(Base):
    """Where a chat platform lets us write proactively (a Teams conversation reference)."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("org_id", "platform", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    platform: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(300))
    reference: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class SlackInstallationRow(Base):
    """A Slack workspace goalnudge is installed in (OAuth), and the organisation it is."""

    __tablename__ = "slack_installations"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    team_id: Mapped[str] = mapped_column(String(32), unique=True)
    team_name: Mapped[str] = mapped_column(String(200))
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    app_id: Mapped[str | None] = mapped_column(String(32))
    bot_id: Mapped[str | None] = mapped_column(String(32))
    bot_user_id: Mapped[str | None] = mapped_column(String(32))
    bot_scopes: Mapped[str] = mapped_column(Text, default="")
    installer_user_id: Mapped[str | None] = mapped_column(String(32))
    bot_token_encrypted: Mapped[str] = mapped_column(Text)  # Fernet ciphertext, never the token
    installed_at: Mapped[datetime]


class SlackOAuthStateRow(Base):
    """A `state` handed out by /slack/install: good for one redirect back, until it expires."""

    __tablename__ = "slack_oauth_states"
    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)

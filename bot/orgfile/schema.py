"""The org file's shape, as pydantic models: what each field accepts and how it is checked."""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
)

from bot.core.text import CURRENCY_PREFIXES, MAX_MAGNITUDE
from integrations import registry

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _email(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError(f"{value!r} is not an email address")
    return value.lower()


def _key(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", value):
        raise ValueError(f"{value!r}: ids use letters, digits, '-', '_' or '.' (at most 100)")
    return value


Email = Annotated[str, AfterValidator(_email)]
Key = Annotated[str, AfterValidator(_key)]
# A finite amount or count (.nan and .inf refused), within what a typed number may be.
Amount = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE)]


def check_timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {value!r} (use an IANA name like Europe/Berlin)"
        ) from None
    return value


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WORKWEEK: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def check_country(value: str | None) -> str | None:
    if value is None:
        return None
    from integrations.calendar import supported

    if not supported(value):
        raise ValueError(f"{value!r} is not a country code with known public holidays (e.g. US)")
    return value.upper()


class CheckinSpec(Strict):
    """When someone is asked, instead of their role's default (sales Mon–Fri 16:30, ...)."""

    days: list[Weekday] | None = None
    at: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class OrganisationSpec(Strict):
    slug: Key
    name: str
    timezone: str = "UTC"
    country: str | None = None

    _country = field_validator("country")(check_country)

    _tz = field_validator("timezone")(check_timezone)


# Deprecated names of kinds, still read: from when there was one CRM and one tracker.
KIND_ALIASES = {"crm": "salesforce", "tracker": "jira"}


def _ids(value: dict[str, str | None]) -> dict[str, str]:
    """How other systems know a person, by kind (`slack`, `teams`, `salesforce`, `jira`, ...)."""
    ids: dict[str, str] = {}
    for given, id_ in value.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", given):
            raise ValueError(f"{given!r}: a kind of id is a lower-case name like slack or jira")
        kind = KIND_ALIASES.get(given, given)
        if kind in ids:
            raise ValueError(f"{kind} is given twice ({given!r} is another name for it)")
        if id_ is None:
            continue
        if not id_ or len(id_) > 128:
            raise ValueError(f"{kind}: an id is 1 to 128 characters")
        ids[kind] = id_
    return ids


Ids = Annotated[dict[str, str | None], AfterValidator(_ids)]


class PersonSpec(Strict):
    email: Email
    name: str
    role: Literal["sales", "engineering", "manager", "leader"]
    timezone: str | None = None
    manager: Email | None = None
    working_days: list[Weekday] = Field(default_factory=lambda: list(WORKWEEK), min_length=1)
    quiet_hours: str | None = None
    ids: Ids = Field(default_factory=dict)
    country: str | None = None
    checkin: CheckinSpec | None = None

    _tz = field_validator("timezone")(check_timezone)
    _country = field_validator("country")(check_country)

    @field_validator("quiet_hours")
    @classmethod
    def quiet(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = re.fullmatch(r"(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})", value)
        if not match:
            raise ValueError("quiet_hours must look like '18:00-08:00'")
        for part in match.groups():
            try:
                time.fromisoformat(part.zfill(5))
            except ValueError:
                raise ValueError(f"{part!r} is not a time of day") from None
        return value


class TeamSpec(Strict):
    name: str
    manager: Email
    members: list[Email] = Field(default_factory=list)
    digest_channel: str | None = None
    checkin: CheckinSpec | None = None


class PeriodSpec(Strict):
    start: date
    end: date

    @model_validator(mode="after")
    def ordered(self) -> PeriodSpec:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")
        return self


def _one_source(spec: BaseModel) -> BaseModel:
    given = [kind for kind, options in spec if options is not None]
    kinds = registry.names()
    names = f"{', '.join(kinds[:-1])} or {kinds[-1]}" if len(kinds) > 1 else kinds[0]
    if len(given) > 1:
        raise ValueError(f"a key result has one source: {' or '.join(given)}, not both")
    if not given:
        raise ValueError(f"give {names} here, or write `source: manual`")
    return spec


# `{KIND: {…}}`: one registered source kind (integrations/registry.py), its options checked by
# that kind's own binding model.
SourceSpec: type[BaseModel] = create_model(
    "SourceSpec",
    __base__=Strict,
    __validators__={"one": model_validator(mode="after")(_one_source)},
    # Fields named by the registered kinds: mypy cannot type keywords chosen at run time.
    **{kind: (model | None, None) for kind, model in registry.binding_models().items()},  # type: ignore[call-overload]
)


class CheckpointSpec(Strict):
    date: date
    value: Amount


class KeyResultSpec(Strict):
    id: Key
    title: str
    owner: Email
    kind: Literal["increase", "decrease", "keep_above", "keep_below", "milestone"] = "increase"
    unit: str = ""
    start: Amount = 0.0
    target: Amount | None = None
    quota: Annotated[Amount, Field(ge=0)] | None = None
    current: Amount | None = None
    due: date | None = None
    confidence: int | None = Field(default=None, ge=0, le=100)
    status: Literal["on_track", "at_risk", "off_track", "done"] = "on_track"
    source: Literal["manual"] | SourceSpec = "manual"
    checkpoints: list[CheckpointSpec] = Field(default_factory=list)

    @field_validator("kind", mode="before")
    @classmethod
    def renamed(cls, value: object) -> object:
        # "metric" is what "increase" was called before key results had other kinds.
        return "increase" if value == "metric" else value

    @model_validator(mode="after")
    def consistent(self) -> KeyResultSpec:
        if self.kind == "milestone":
            if self.due is None:
                raise ValueError("a milestone key result needs a due date")
        elif self.target is None:
            raise ValueError(f"a {self.kind.replace('_', '-')} key result needs a target")
        moves = self.kind in ("increase", "decrease")
        if moves and self.target == self.start:
            raise ValueError("the target equals the start: nothing to achieve")
        counted = self.unit in CURRENCY_PREFIXES or self.unit.isalpha()
        if counted and self.target is not None and self.target < 0:
            raise ValueError(f"a target in {self.unit} cannot be negative")
        if self.kind == "decrease" and self.target is not None and self.target >= self.start:
            raise ValueError(
                "a decrease key result needs a target below its start "
                "(lower is better: say start: 90, target: 75)"
            )
        if self.quota is not None and self.kind != "increase":
            raise ValueError("only an increase key result has a quota")
        if self.checkpoints and self.kind not in ("increase", "decrease"):
            raise ValueError("only an increase or decrease key result has checkpoints")
        days = [c.date for c in self.checkpoints]
        if days != sorted(days) or len(set(days)) != len(days):
            raise ValueError("checkpoints must be in date order, one per date")
        return self


class ObjectiveSpec(Strict):
    id: Key
    title: str
    period: str | PeriodSpec
    owner: Email | None = None
    team: str | None = None
    parent: Key | None = None
    key_results: list[KeyResultSpec] = Field(default_factory=list)

    @field_validator("period")
    @classmethod
    def quarter(cls, value: str | PeriodSpec) -> str | PeriodSpec:
        if isinstance(value, str) and not re.fullmatch(r"\d{4}-(Q[1-4]|H[12]|FY)", value):
            raise ValueError("period must be like 2026-Q4, 2026-H2, 2026-FY or {start:, end:}")
        return value


class OrgFileSpec(Strict):
    organisation: OrganisationSpec
    people: list[PersonSpec] = Field(default_factory=list)
    teams: list[TeamSpec] = Field(default_factory=list)
    objectives: list[ObjectiveSpec] = Field(default_factory=list)

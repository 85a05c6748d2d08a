"""The sources a deployment reads, by kind: the role each kind plays and which are configured."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.core.model import KeyResult
from bot.core.ports import CrmSource, TrackerSource


class SourceRole(enum.StrEnum):
    CRM = "crm"  # figures per person: amounts, counts, days
    TRACKER = "tracker"  # epics and their issues: state, due date, open work


@dataclass(frozen=True)
class Kind:
    """A kind of source as registered at the edge: `name` as the org file writes it, `title` as
    people read it."""

    name: str
    role: SourceRole
    title: str


@dataclass(frozen=True)
class Sources:
    """Every kind known (configured here or not), and the configured sources by kind."""

    kinds: Mapping[str, Kind] = field(default_factory=dict)
    crms: Mapping[str, CrmSource] = field(default_factory=dict)
    trackers: Mapping[str, TrackerSource] = field(default_factory=dict)

    def role(self, kind: str) -> SourceRole | None:
        known = self.kinds.get(kind)
        return known.role if known else None

    def configured(self, kind: str) -> bool:
        return kind in self.crms or kind in self.trackers

    def title(self, kind: str) -> str:
        """How people read `kind` ("Salesforce"): a configured source's own name first."""
        source = self.crms.get(kind) or self.trackers.get(kind)
        if source is not None:
            return source.name
        known = self.kinds.get(kind)
        return known.title if known else kind

    def bound(self, krs: Iterable[KeyResult], role: SourceRole) -> dict[str, list[KeyResult]]:
        """`krs` bound to a kind of `role`, by kind (configured or not)."""
        found: dict[str, list[KeyResult]] = {}
        for kr in krs:
            if self.role(kr.source.kind) is role:
                found.setdefault(kr.source.kind, []).append(kr)
        return found

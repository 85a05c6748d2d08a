"""Every kind of source goalnudge knows, one line each: its role, its name, its module.

A kind's module provides `Binding` (the pydantic model of its options in the org file, with
`FORMS`, how the org file writes it) and `from_settings(settings)` (the source, or None when it
is not configured). Modules are imported when first needed.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from bot.core.sources import Kind, SourceRole, Sources

if TYPE_CHECKING:
    from pydantic import BaseModel

    from bot.config import Settings
    from bot.core.ports import CrmSource, TrackerSource

CRM, TRACKER = SourceRole.CRM, SourceRole.TRACKER
KINDS: tuple[tuple[Kind, str], ...] = (
    (Kind("salesforce", CRM, "Salesforce"), "integrations.salesforce"),
    (Kind("jira", TRACKER, "Jira"), "integrations.jira"),
    (Kind("hubspot", CRM, "HubSpot"), "integrations.hubspot"),
    (Kind("linear", TRACKER, "Linear"), "integrations.linear"),
)


def names() -> list[str]:
    return [kind.name for kind, _ in KINDS]


def kinds() -> dict[str, Kind]:
    return {kind.name: kind for kind, _ in KINDS}


@cache
def _module(name: str) -> Any:
    return importlib.import_module(dict((k.name, m) for k, m in KINDS)[name])


def binding_models() -> dict[str, type[BaseModel]]:
    """Each kind's org-file options model, by kind."""
    return {kind.name: _module(kind.name).Binding for kind, _ in KINDS}


def binding_model(kind: str) -> type[BaseModel] | None:
    return binding_models().get(kind)


def query_field(model: type[BaseModel]) -> str:
    """The org-file field that holds a query in the kind's own language (Jira's is `jql`)."""
    return str(getattr(model, "QUERY", "query"))


def sources(settings: Settings) -> Sources:
    """The configured sources by kind; with sample data, its CRM and tracker stand in for the
    kinds nothing real is configured for."""
    built = {kind.name: _module(kind.name).from_settings(settings) for kind, _ in KINDS}
    if settings.goalnudge_sample_data is not None:
        from integrations.sample import SampleCrm, SampleTracker

        built["salesforce"] = built["salesforce"] or SampleCrm(settings.goalnudge_sample_data)
        built["jira"] = built["jira"] or SampleTracker(settings.goalnudge_sample_data)
    return of({k: v for k, v in built.items() if v is not None})


def of(configured: Mapping[str, CrmSource | TrackerSource]) -> Sources:
    """Sources from configured ones by kind (tests, benches and the demo build theirs here)."""
    known = kinds()
    crms = {k: s for k, s in configured.items() if known[k].role is CRM}
    trackers = {k: s for k, s in configured.items() if known[k].role is TRACKER}
    return Sources(known, crms, trackers)  # type: ignore[arg-type]  # a kind's role names its port

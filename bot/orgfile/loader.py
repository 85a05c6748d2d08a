"""Read an org file: every problem reported with its line, then turned into an OrgChart."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.core.errors import OrgFileError
from bot.core.model import (
    OrgChart,
)
from bot.core.text import amount
from bot.orgfile.convert import period, to_chart
from bot.orgfile.schema import (
    OrgFileSpec,
)
from integrations import registry

Path_ = tuple[str | int, ...]
SANDBAG_RATIO = 1.2


@dataclass(frozen=True)
class Loaded:
    chart: OrgChart
    warnings: tuple[str, ...] = ()


def positions(node: yaml.Node, path: Path_ = ()) -> dict[Path_, int]:
    """Line (1-based) of every mapping key and list item in the YAML tree."""
    found = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            found |= positions(value, (*path, key.value))
            found[(*path, key.value)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            found |= positions(value, (*path, index))
    return found


def dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


class Problems:
    def __init__(self, filename: str, lines: dict[Path_, int]) -> None:
        self.filename, self.lines, self.items = filename, lines, list[tuple[int, str]]()

    def add(self, path: Path_, message: str) -> None:
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe, 1)
        self.items.append((line, f"{self.filename}:{line}: {dotted(path)}: {message}"))

    def sorted(self) -> list[str]:
        return [text for _, text in sorted(self.items, key=lambda item: item[0])]


def load_file(path: str | Path) -> Loaded:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise OrgFileError([f"{file}: cannot read the org file ({exc.strerror})"]) from exc
    except UnicodeDecodeError:
        raise OrgFileError([f"{file}: the org file is not UTF-8 text"]) from None
    return load_text(text, str(file))


def load_text(text: str, filename: str = "<org file>") -> Loaded:
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or exc
        raise OrgFileError([f"{filename}:{line}: not valid YAML: {problem}"]) from None
    if root is None or not isinstance(data, dict):
        raise OrgFileError([f"{filename}:1: the org file must be a mapping with `organisation:`"])
    problems = Problems(filename, positions(root))
    try:
        spec = OrgFileSpec.model_validate(data)
    except ValidationError as exc:
        reported: set[tuple[Path_, str]] = set()
        for error in exc.errors():
            clean = field_path(data, tuple(error["loc"]))
            if clean is None:
                continue
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown field (check the spelling)"
            elif clean[-1:] == ("source",) and error["type"] in ("literal_error", "model_type"):
                message = SOURCE_FORMS
            if (clean, message) not in reported:
                reported.add((clean, message))
                problems.add(clean, message)
        raise OrgFileError(problems.sorted()) from None
    cross_check(spec, problems)
    if problems.items:
        raise OrgFileError(problems.sorted())
    return Loaded(to_chart(spec), tuple(sandbagging(spec, problems.lines, filename)))


def _forms() -> str:
    models = registry.binding_models().values()
    forms = ["manual"] + [f for m in models for f in getattr(m, "FORMS", ())]
    return f"source must be {', '.join(forms[:-1])} or {forms[-1]}"


SOURCE_FORMS = _forms()


def field_path(data: Any, loc: tuple[Any, ...]) -> Path_ | None:
    """The user's path for a pydantic error location, or None for a union branch not written.

    Pydantic puts branch tags (`str`, `PeriodSpec`, `function-after[...]`) into locations of
    fields that accept several forms; only the branch matching what the file holds is kept.
    """
    path: list[str | int] = []
    value = data
    for part in loc:
        present = (isinstance(value, dict) and isinstance(part, str) and part in value) or (
            isinstance(value, list) and isinstance(part, int) and part < len(value)
        )
        if present:
            path.append(part)
            value = value[part]
        elif isinstance(part, str) and ("[" in part or part[:1].isupper() or part in SCALARS):
            expects_mapping = ("[" in part and "literal" not in part) or part[:1].isupper()
            if expects_mapping != isinstance(value, dict):
                return None
        else:
            path.append(part)  # a missing field: its parent's line is reported
    return tuple(path)


SCALARS = ("str", "constrained-str", "int", "float", "date")


def cross_check(spec: OrgFileSpec, problems: Problems) -> None:
    emails = Counter(p.email for p in spec.people)
    ids = Counter(pair for p in spec.people for pair in p.ids.items())
    for i, p in enumerate(spec.people):
        for kind, value in p.ids.items():
            if ids[kind, value] > 1:
                problems.add(("people", i, "ids", kind), f"{kind} id {value} is someone else's too")
        if emails[p.email] > 1:
            problems.add(("people", i, "email"), f"{p.email} is listed more than once")
        if p.manager and p.manager not in emails:
            problems.add(("people", i, "manager"), f"no person with email {p.manager}")
        if p.manager == p.email:
            problems.add(("people", i, "manager"), "a person cannot be their own manager")
    managers = {p.email: p.manager for p in spec.people}
    looped: set[str] = set()
    for i, p in enumerate(spec.people):
        chain, walk = [p.email], managers.get(p.email)
        while walk in managers and walk not in chain:
            chain.append(walk)
            walk = managers[walk]
        if walk == p.email and len(chain) > 1 and not looped & set(chain):
            looped |= set(chain)
            names = " → ".join([*chain, p.email])
            problems.add(("people", i, "manager"), f"managers form a loop: {names}")
    team_names = Counter(t.name for t in spec.teams)
    for i, t in enumerate(spec.teams):
        if team_names[t.name] > 1:
            problems.add(("teams", i, "name"), f"team {t.name!r} is listed more than once")
        if t.manager not in emails:
            problems.add(("teams", i, "manager"), f"no person with email {t.manager}")
        for j, member in enumerate(t.members):
            if member.lower() not in emails:
                problems.add(("teams", i, "members", j), f"no person with email {member}")
    objective_ids = Counter(o.id for o in spec.objectives)
    kr_ids = Counter(kr.id for o in spec.objectives for kr in o.key_results)
    for i, o in enumerate(spec.objectives):
        at = ("objectives", i)
        if objective_ids[o.id] > 1:
            problems.add((*at, "id"), f"objective id {o.id!r} is used more than once")
        if o.parent and o.parent not in objective_ids:
            problems.add((*at, "parent"), f"no objective with id {o.parent!r}")
        if o.team and o.team not in team_names:
            problems.add((*at, "team"), f"no team named {o.team!r}")
        if o.owner and o.owner.lower() not in emails:
            problems.add((*at, "owner"), f"no person with email {o.owner}")
        for j, kr in enumerate(o.key_results):
            if kr_ids[kr.id] > 1:
                problems.add(
                    (*at, "key_results", j, "id"), f"key result id {kr.id!r} is used twice"
                )
            if kr.owner.lower() not in emails:
                problems.add((*at, "key_results", j, "owner"), f"no person with email {kr.owner}")
            first, last = period(o.period)
            if kr.due and not first <= kr.due <= last:
                problems.add(
                    (*at, "key_results", j, "due"),
                    f"{kr.due} is outside the objective's period ({first} to {last})",
                )
            for k, c in enumerate(kr.checkpoints):
                if not first <= c.date <= last:
                    problems.add(
                        (*at, "key_results", j, "checkpoints", k, "date"),
                        f"{c.date} is outside the objective's period ({first} to {last})",
                    )
    parents = {o.id: o.parent for o in spec.objectives}
    for i, o in enumerate(spec.objectives):
        seen, walk = {o.id}, o.parent
        while walk in parents:
            if walk in seen:
                problems.add(("objectives", i, "parent"), "objectives' parents form a loop")
                break
            seen.add(walk)
            walk = parents[walk]


def sandbagging(spec: OrgFileSpec, lines: dict[Path_, int], filename: str) -> list[str]:
    warnings = []
    for i, o in enumerate(spec.objectives):
        for j, kr in enumerate(o.key_results):
            if not kr.quota or kr.target is None:
                continue
            line = lines.get(("objectives", i, "key_results", j, "target"), 1)
            where = (
                f"{filename}:{line}: warning: {kr.id}: stretch target {amount(kr.target, kr.unit)}"
            )
            if kr.target < kr.quota:
                warnings.append(
                    f"{where} is below its quota ({amount(kr.quota, kr.unit)}): "
                    "the target is usually about 20% above the quota"
                )
            elif kr.target < SANDBAG_RATIO * kr.quota:
                warnings.append(
                    f"{where} is below {SANDBAG_RATIO} × quota "
                    f"({amount(SANDBAG_RATIO * kr.quota, kr.unit)}) — sandbagging?"
                )
    return warnings

"""The org file as a user sees it: the sample loads, every mistake is named with its line."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from bot.core.errors import OrgFileError
from bot.core.model import KrKind, QuietHours, Role, SourceBinding
from bot.demo import SAMPLE_ORG
from bot.orgfile import Loaded, dump, load_file, load_text

HEAD = """\
organisation:
  slug: acme
  name: Acme
people:
  - email: ann@acme.example
    name: Ann
    role: sales
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(OrgFileError) as caught:
        load_text(text, "org.yaml")
    return caught.value.problems


def one_key_result(target: int = 720000, source: str = "manual") -> str:
    """HEAD plus one objective whose key result has `target` on line 16, `source` on line 19."""
    return HEAD + (
        "objectives:\n"
        "  - id: growth\n"
        "    title: Grow\n"
        "    period: 2026-Q4\n"
        "    key_results:\n"
        "      - id: arr-ann\n"
        "        title: Close New ARR\n"
        "        owner: ann@acme.example\n"
        f"        target: {target}\n"
        '        unit: "$"\n'
        "        quota: 600000\n"
        f"        source: {source}\n"
    )


@pytest.fixture(scope="module")
def sample() -> Loaded:
    return load_file(SAMPLE_ORG)


def test_sample_has_everyone_and_every_goal(sample: Loaded) -> None:
    chart = sample.chart
    assert (chart.organisation.slug, chart.organisation.name) == ("acme", "Acme Payments")
    assert len(chart.people) == 8
    assert [t.name for t in chart.teams] == ["Sales East", "Platform"]
    assert [o.key for o in chart.objectives] == ["company", "sales-growth", "platform"]
    assert [(kr.key, kr.kind.value) for kr in chart.key_results] == [
        ("arr-alice", "increase"),
        ("demos-alice", "increase"),  # leading
        ("cycle-bob", "decrease"),  # efficiency
        ("arr-bob", "increase"),
        ("pay-gw", "milestone"),
        ("fraud-api", "milestone"),
        ("mobile-sdk", "milestone"),
        ("uptime", "keep_above"),  # health
    ]
    krs = {kr.key: kr for kr in chart.key_results}
    assert krs["demos-alice"].source == SourceBinding(
        "salesforce", metric="meetings_held", options=(("event_type", "Demo"),)
    )
    cycle = krs["cycle-bob"]
    assert (cycle.start, cycle.target, cycle.checkpoints) == (90, 75, ((date(2026, 11, 30), 80),))
    assert (krs["uptime"].target, krs["uptime"].current, krs["uptime"].holds) == (
        99.99,
        99.995,
        True,
    )
    assert sample.warnings == ()


def test_sample_people_keep_their_own_settings(sample: Loaded) -> None:
    people = {p.email: p for p in sample.chart.people}
    bob, grace, lena = (
        people["bob@acme.example"],
        people["grace@acme.example"],
        people["lena@acme.example"],
    )
    assert bob.timezone == "America/Chicago"
    assert bob.role is Role.SALES and bob.manager == "sam@acme.example"
    assert bob.quiet_hours == QuietHours(time(19), time(8))
    assert grace.working_days == (0, 1, 2, 3)
    assert bob.working_days == (0, 1, 2, 3, 4)
    assert lena.timezone == "America/New_York"  # no timezone of her own: the organisation's
    assert lena.manager is None
    assert people["alice@acme.example"].ids.get("salesforce") == "0058d000001AbCdAAK"
    platform = sample.chart.teams[1]
    assert platform.manager == "maya@acme.example"
    assert platform.members == ("erin@acme.example", "farid@acme.example", "grace@acme.example")


def test_sample_objectives_and_key_results(sample: Loaded) -> None:
    objectives = {o.key: o for o in sample.chart.objectives}
    for objective in objectives.values():
        assert (objective.period_start, objective.period_end) == (
            date(2026, 10, 1),
            date(2026, 12, 31),
        )
    assert objectives["sales-growth"].parent == "company"
    assert objectives["sales-growth"].team == "Sales East"
    krs = {kr.key: kr for kr in sample.chart.key_results}
    alice = krs["arr-alice"]
    assert (alice.quota, alice.target, alice.current, alice.unit) == (600000, 720000, 300000, "$")
    assert alice.source == SourceBinding("salesforce", metric="closed_won_amount")
    gateway = krs["pay-gw"]
    assert gateway.kind is KrKind.MILESTONE and gateway.due == date(2026, 11, 13)
    assert (gateway.current, gateway.target, gateway.unit) == (60, 100, "%")
    assert gateway.source == SourceBinding("jira", epic="PAY-12")


# Each line number below is the line of the mistake in this text (line 1 is `organisation:`).
WRONG_FIELDS = """\
organisation:
  slug: acme
  name: Acme
  timezone: Mars/Olympus
people:
  - email: ann@acme.example
    name: Ann
    role: leader
    quiet_hours: "after six"
  - email: ben@acme.example
    name: Ben
    role: wizard
  - email: cat@acme.example
    name: Cat
    role: sales
    timezon: Europe/Paris
objectives:
  - id: top
    title: Top
    period: 2026-Q4
    key_results:
      - id: launch
        title: Launch
        owner: cat@acme.example
        kind: milestone
"""


def test_every_field_mistake_is_reported_at_once_with_its_line() -> None:
    assert problems_of(WRONG_FIELDS) == [
        "org.yaml:4: organisation.timezone: unknown timezone 'Mars/Olympus' "
        "(use an IANA name like Europe/Berlin)",
        "org.yaml:9: people[0].quiet_hours: quiet_hours must look like '18:00-08:00'",
        "org.yaml:12: people[1].role: Input should be "
        "'sales', 'engineering', 'manager' or 'leader'",
        "org.yaml:16: people[2].timezon: unknown field (check the spelling)",
        "org.yaml:22: objectives[0].key_results[0]: a milestone key result needs a due date",
    ]


WRONG_REFERENCES = """\
organisation:
  slug: acme
  name: Acme
people:
  - email: ann@acme.example
    name: Ann
    role: leader
  - email: ben@acme.example
    name: Ben
    role: sales
    manager: nobody@acme.example
teams:
  - name: Core
    manager: ann@acme.example
    members: [ben@acme.example, ghost@acme.example]
objectives:
  - id: top
    title: Top
    period: 2026-Q4
    parent: missing
    key_results:
      - id: kr-1
        title: One
        owner: ann@acme.example
        target: 10
      - id: kr-1
        title: Two
        owner: ben@acme.example
        target: 5
  - id: a
    title: A
    period: 2026-Q4
    parent: b
  - id: b
    title: B
    period: 2026-Q4
    parent: a
"""


def test_every_dangling_reference_is_reported_at_once_with_its_line() -> None:
    assert problems_of(WRONG_REFERENCES) == [
        "org.yaml:11: people[1].manager: no person with email nobody@acme.example",
        "org.yaml:15: teams[0].members[1]: no person with email ghost@acme.example",
        "org.yaml:20: objectives[0].parent: no objective with id 'missing'",
        "org.yaml:22: objectives[0].key_results[0].id: key result id 'kr-1' is used twice",
        "org.yaml:26: objectives[0].key_results[1].id: key result id 'kr-1' is used twice",
        "org.yaml:33: objectives[1].parent: objectives' parents form a loop",
        "org.yaml:37: objectives[2].parent: objectives' parents form a loop",
    ]


def test_broken_yaml_is_one_problem_on_its_line() -> None:
    problems = problems_of(HEAD.replace("name: Ann", "name: Ann: the boss"))
    assert problems == ["org.yaml:6: not valid YAML: mapping values are not allowed here"]


@pytest.mark.parametrize("text", ["- ann@acme.example\n- ben@acme.example\n", "", "# empty\n"])
def test_a_file_that_is_not_a_mapping_says_what_is_expected(text: str) -> None:
    assert problems_of(text) == ["org.yaml:1: the org file must be a mapping with `organisation:`"]


def test_a_file_without_organisation_says_so() -> None:
    assert problems_of("people: []\n") == ["org.yaml:1: organisation: Field required"]


def test_a_missing_file_says_it_cannot_be_read(tmp_path: Path) -> None:
    missing = tmp_path / "org.yaml"
    with pytest.raises(OrgFileError) as caught:
        load_file(missing)
    assert caught.value.problems == [
        f"{missing}: cannot read the org file (No such file or directory)"
    ]


@pytest.mark.parametrize(
    ("source", "binding"),
    [
        ("manual", SourceBinding()),
        (
            "{salesforce: {metric: closed_won_amount}}",
            SourceBinding("salesforce", metric="closed_won_amount"),
        ),
        ("{jira: {epic: PAY-12}}", SourceBinding("jira", epic="PAY-12")),
        (
            '{jira: {jql: "project = PAY AND fixVersion = 2.0"}}',
            SourceBinding("jira", query="project = PAY AND fixVersion = 2.0"),
        ),
    ],
)
def test_each_kind_of_source_binds_the_key_result(source: str, binding: SourceBinding) -> None:
    (kr,) = load_text(one_key_result(source=source)).chart.key_results
    assert kr.source == binding


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "{salesforce: {metric: closed_won_amount}, jira: {epic: PAY-12}}",
            "a key result has one source: salesforce or jira, not both",
        ),
        ('{jira: {epic: PAY-12, jql: "project = PAY"}}', "give exactly one of epic or jql"),
        (
            "{salesforce: {metric: revenue}}",
            "Input should be 'closed_won_amount', 'closed_won_count', 'opportunities_created', "
            "'meetings_held', 'win_rate', 'sales_cycle_days' or 'custom'",
        ),
    ],
)
def test_a_wrong_source_is_one_problem_on_its_line(source: str, message: str) -> None:
    (problem,) = problems_of(one_key_result(source=source))
    assert problem.startswith("org.yaml:19: objectives[0].key_results[0].source")
    assert problem.endswith(f": {message}")


def test_a_target_below_1_2x_quota_warns_of_sandbagging() -> None:
    loaded = load_text(one_key_result(target=650000), "org.yaml")
    assert loaded.warnings == (
        "org.yaml:16: warning: arr-ann: stretch target $650,000 is below 1.2 × quota "
        "($720,000) — sandbagging?",
    )
    assert loaded.chart.key_results[0].target == 650000  # a warning, not an error


def test_a_target_of_1_2x_quota_is_not_sandbagging() -> None:
    assert load_text(one_key_result(target=720000)).warnings == ()


def test_export_of_the_sample_imports_to_the_same_chart(sample: Loaded) -> None:
    exported = dump(load_text(SAMPLE_ORG.read_text(encoding="utf-8")).chart)
    again = load_text(exported, "exported.yaml")
    assert again.chart == sample.chart
    assert again.warnings == ()
    assert dump(again.chart) == exported


def test_fields_with_several_forms_are_reported_on_the_line_the_user_wrote() -> None:
    file = Path(__file__).parent / "data" / "bad-sources.yaml"
    with pytest.raises(OrgFileError) as caught:
        load_file(file)
    lines = [
        p.split(": ", 1)[0].rsplit(":", 1)[1] + " " + p.split(": ", 1)[1]
        for p in caught.value.problems
    ]
    assert lines == [
        "4 people[1].email: 'not-an-email' is not an email address",
        "8 objectives[0].period: the period ends before it starts",
        "14 objectives[0].key_results[0].source.jira: give exactly one of epic or jql",
        "21 objectives[0].key_results[1].source.salesforce.metric: Input should be "
        "'closed_won_amount', 'closed_won_count', 'opportunities_created', 'meetings_held', "
        "'win_rate', 'sales_cycle_days' or 'custom'",
        "26 objectives[0].key_results[2].source: source must be manual, {salesforce: {metric: "
        "METRIC, …}}, {jira: {epic: KEY}}, {jira: {jql: QUERY}}, {hubspot: {metric: METRIC, …}}, "
        "{linear: {epic: KEY}} or {linear: {query: FILTER}}",
        "31 objectives[0].key_results[3].source: give salesforce, jira, hubspot or linear here, "
        "or write `source: manual`",
        "36 objectives[0].key_results[4].source.jira.epic: 'pay12' is not a Jira issue key "
        "like PAY-12",
    ]


def test_a_file_that_is_not_text_is_refused_cleanly(tmp_path: Path) -> None:
    file = tmp_path / "org.yaml"
    file.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(OrgFileError, match="is not UTF-8 text"):
        load_file(file)


def test_emails_are_matched_whatever_their_case() -> None:
    text = HEAD.replace("ann@acme.example", "ANN@acme.example", 1)
    people = load_text(text + "teams:\n  - {name: T, manager: Ann@Acme.example}\n").chart
    assert people.people[0].email == "ann@acme.example"
    assert people.teams[0].manager == "ann@acme.example"


@pytest.mark.parametrize("raw", [".nan", ".NaN", ".inf", "-.inf", ".Inf"])
@pytest.mark.parametrize("field", ["target", "quota", "current", "start", "confidence"])
def test_numbers_must_be_finite(field: str, raw: str) -> None:
    text = one_key_result().replace("        source:", f"        {field}: {raw}\n        source:")
    if field in ("target", "quota"):
        text = text.replace(f"        {field}: 720000\n", "").replace(
            f"        {field}: 600000\n", ""
        )
    line = text.splitlines().index(f"        {field}: {raw}") + 1
    assert problems_of(text) == [
        f"org.yaml:{line}: objectives[0].key_results[0].{field}: Input should be a finite number"
    ]


def test_amounts_are_at_most_a_quadrillion_either_side_of_zero() -> None:
    assert problems_of(one_key_result(target="1e300")) == [  # type: ignore[arg-type]
        "org.yaml:16: objectives[0].key_results[0].target: Input should be less than or equal "
        "to 1000000000000000"
    ]
    assert problems_of(one_key_result(target="-2e15")) == [  # type: ignore[arg-type]
        "org.yaml:16: objectives[0].key_results[0].target: Input should be greater than or "
        "equal to -1000000000000000"
    ]
    assert load_text(one_key_result(target="1e15"), "org.yaml").chart  # type: ignore[arg-type]


KINDS = (
    HEAD
    + """\
objectives:
  - id: eng
    title: Run well
    period: 2026-Q4
    key_results:
      - id: cycle
        title: Cut the sales cycle from 90 to 75 days
        owner: ann@acme.example
        kind: decrease
        unit: days
        start: 90
        target: 75
        checkpoints:
          - {date: 2026-11-15, value: 84}
      - id: uptime
        title: Keep 99.99% uptime
        owner: ann@acme.example
        kind: keep_above
        unit: "%"
        target: 99.99
        current: 99.995
      - id: deploy
        title: Deploys under 15 minutes
        owner: ann@acme.example
        kind: keep_below
        unit: min
        target: 15
      - id: arr
        title: Close new ARR
        owner: ann@acme.example
        kind: metric
        unit: "$"
        target: 720000
"""
)


def test_every_kind_of_key_result_loads_and_exports_as_written() -> None:
    chart = load_text(KINDS).chart
    kinds = {kr.key: kr.kind for kr in chart.key_results}
    assert kinds == {
        "cycle": KrKind.DECREASE, "uptime": KrKind.KEEP_ABOVE,
        "deploy": KrKind.KEEP_BELOW, "arr": KrKind.INCREASE,  # "metric" is read as "increase"
    }  # fmt: skip
    cycle = chart.key_results[0]
    assert cycle.checkpoints == ((date(2026, 11, 15), 84.0),) and cycle.current == 90
    again = load_text(dump(chart)).chart
    assert again == chart
    assert "kind: metric" not in dump(chart)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("start: 90", "start: 70"), "a decrease key result needs a target below its start"),
        (("kind: keep_below\n        unit: min\n        target: 15\n",
          "kind: keep_below\n        unit: min\n"), "a keep-below key result needs a target"),
        (("value: 84}", "value: 84}\n          - {date: 2027-01-04, value: 80}"),
         "2027-01-04 is outside the objective's period (2026-10-01 to 2026-12-31)"),
        (("kind: metric", "kind: linear"), "Input should be 'increase', 'decrease', 'keep_above', "
                                          "'keep_below' or 'milestone'"),
    ],
)  # fmt: skip
def test_a_key_result_that_does_not_fit_its_kind_is_refused_with_why(
    change: tuple[str, str], message: str
) -> None:
    (problem,) = problems_of(KINDS.replace(*change))
    assert message in problem


def test_a_target_below_the_quota_warns_and_still_imports() -> None:
    loaded = load_text(one_key_result(target=500000), "org.yaml")
    assert loaded.warnings == (
        "org.yaml:16: warning: arr-ann: stretch target $500,000 is below its quota ($600,000): "
        "the target is usually about 20% above the quota",
    )
    assert loaded.chart.key_results[0].target == 500000


LOOP = """\
organisation: {slug: acme, name: Acme}
people:
  - {email: a@acme.example, name: A, role: manager, manager: b@acme.example}
  - {email: b@acme.example, name: B, role: manager, manager: c@acme.example}
  - {email: c@acme.example, name: C, role: manager, manager: a@acme.example}
  - {email: d@acme.example, name: D, role: sales, manager: a@acme.example}
"""


def test_a_manager_loop_of_any_length_is_one_line_naming_it() -> None:
    assert problems_of(LOOP) == [
        "org.yaml:3: people[0].manager: managers form a loop: "
        "a@acme.example → b@acme.example → c@acme.example → a@acme.example"
    ]
    assert load_text(LOOP.replace("manager: a@acme.example}\n  - {email: d", "}\n  - {email: d"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("target: 720000", "target: 0"), "the target equals the start: nothing to achieve"),
        (("target: 720000", "target: -5"), "a target in $ cannot be negative"),
    ],
)  # fmt: skip
def test_a_target_that_cannot_be_right_is_refused(change: tuple[str, str], message: str) -> None:
    (problem,) = problems_of(one_key_result().replace(*change))
    assert problem.endswith(message)


def test_a_due_date_outside_the_objectives_period_is_refused() -> None:
    text = KINDS.replace("kind: keep_below\n", "kind: keep_below\n        due: 2027-02-01\n")
    (problem,) = problems_of(text)
    assert problem.endswith(
        "2027-02-01 is outside the objective's period (2026-10-01 to 2026-12-31)"
    )

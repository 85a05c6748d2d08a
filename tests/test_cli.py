"""The `goalnudge` command line as a user runs it: a real process, its output, its exit code."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.demo import SAMPLE_DATA, SAMPLE_ORG

ROOT = Path(__file__).resolve().parent.parent


def goalnudge(
    *args: str, cwd: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GOALNUDGE_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean | {"PYTHONPATH": str(ROOT)} | env,
    )


def test_the_demo_plays_the_same_week_through_hubspot_and_linear(tmp_path: Path) -> None:
    run = goalnudge("demo", "--crm", "hubspot", "--tracker", "linear", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "(HubSpot sync, 1 API call: Alice Chen: $384,000; Bob Okafor: $262,000)" in out
    assert "HubSpot shows you closed 2 deals since your last update ($84,000)." in out
    assert "Linear shows epic PAY-12 “Payment Gateway v2” is past its due date" in out
    assert "Salesforce" not in out.replace("salesforce.com", "") and "Jira" not in out
    # HubSpot reads no meetings or sales cycle: those key results are kept by hand, and the
    # digest says nobody has heard of them, never a figure HubSpot could not have given
    assert "demos since" not in out and "sales cycle at" not in out
    assert (
        "⏳ “Complete 45 demos” — Alice Chen · no recent update (nothing heard this period) · "
        "26 demos — 58% of target 45 demos · on pace" in out
    )
    assert "Weekly check: where does “Keep 99.99% API uptime” stand?" in out


def test_demo_plays_the_week_and_leaves_a_database_to_explore(tmp_path: Path) -> None:
    run = goalnudge("demo", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "8 people, 2 teams, 3 objectives, 8 key results (21 records created)" in out
    assert "Salesforce shows you closed 2 deals since your last update ($84,000)." in out
    assert "Bob Okafor: [2] Adjust… → 250000" in out
    # a leading key result: demos held, counted from the CRM's meetings
    assert (
        "  │ Salesforce shows 28 demos this quarter: 28 of 45.\n"
        "  │ Update “Complete 45 demos” → 28 demos (62% of target 45 demos)?" in out
    )
    # an efficiency one: the sales cycle, a level to bring down, asked with Bob's ARR
    assert (
        "  │ Salesforce shows your average sales cycle at 78.5 days for deals won this quarter "
        "(from 90, target 75).\n"
        "  │ Update these key results?\n"
        "  │ • “Cut the sales cycle from 90 to 75 days” → 78.5 days (77% of target 75 days)\n"
        "  │ • “Close $500k in New ARR (Bob)” → $292,000 (58% of quota $500,000, 49% of target "
        "$600,000)" in out
    )
    # a flag heard from is asked about again a week on; Erin's, never answered, is asked now
    assert "Farid Haddad: [1] Still blocked" in out
    assert "Still blocked on “Waiting on the acquirer's sandbox certificates since Nov 10”?" in out
    # a health key result: its level is asked for, not a confidence
    assert (
        "goalnudge → Farid Haddad (DM, Thu 10:00 GMT)\n"
        "  │ Weekly check: where does “Keep 99.99% API uptime” stand? (last value 99.995%)\n"
        "  │ Update it, or is it still on track?\n"
        "  │ [1] Adjust…   [2] It's on track   [3] Snooze" in out
    )
    assert "✅ Updated “Keep 99.99% API uptime”: 99.993% (keep ≥ 99.99%)." in out
    assert "Alice Chen: nothing new in the source — no nudge" in out
    assert "🚩 Erin Walsh flagged “Ship Payment Gateway v2” at risk (confidence 40%)." in out
    assert "Farid Haddad in #platform:" in out
    assert "⏰ Reminder — still waiting on this one:" in out
    assert "No answer: Grace Kim" in out
    sales = out[out.index("goalnudge → #sales-east") : out.index("goalnudge → #platform")]
    heads = ["Needs attention:", "What changed:", "On track:", "Participation:"]
    assert [sales.index(h) for h in heads] == sorted(sales.index(h) for h in heads)
    for line in (  # pace, as each kind reads it
        "🚩 “Close $500k in New ARR (Bob)” — Bob Okafor · at risk: behind pace by $65,455 · "
        "$280,000 — 56% of quota $500,000, 47% of target $600,000",
        "✅ “Complete 45 demos” — Alice Chen · on track · 30 demos — 67% of target 45 demos · "
        "ahead by 4 demos",
        "✅ “Cut the sales cycle from 90 to 75 days” — Bob Okafor · on track · 78.5 days, from 90 "
        "days: 77% of target 75 days · ahead by 2.7 days",
        "Bob Okafor — “Cut the sales cycle from 90 to 75 days”: 90 days → 78.5 days (updated by "
        "hand)",
        "5 of 5 check-ins answered (100%)",
    ):
        assert line in sales, line
    assert (
        "⏳ “Keep 99.99% API uptime” — Farid Haddad · no recent update (nothing heard this "
        "period) · 99.995% (keep ≥ 99.99%)" in out
    )
    assert "🏢 Company roll-up" in out
    assert "██████████ 100%  Keep 99.99% API uptime" in out
    assert "*" not in out  # bold reads as “quotes” in a terminal, never as stray markup
    url = f"sqlite+aiosqlite:///{tmp_path / 'goalnudge-demo.db'}"
    chat = goalnudge(
        "chat", "--as", "alice@acme.example", cwd=tmp_path, stdin="goals\n", DATABASE_URL=url
    )
    assert (  # the demo's week is over: the chat runs today, long after it
        "[arr-alice] “Close $600k in New ARR (Alice)”: $445,000 — 74% of quota $600,000, 62% of "
        "target $720,000 · at risk: behind pace by $" in chat.stdout
    )
    again = goalnudge("demo", cwd=tmp_path)  # starts afresh, same story
    assert again.returncode == 0 and again.stdout == out


def test_import_is_idempotent_and_export_round_trips(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'org.db'}"}
    first = goalnudge("org", "import", str(SAMPLE_ORG), cwd=tmp_path, **env)
    assert first.returncode == 0 and "21 created, 0 updated" in first.stdout
    second = goalnudge("org", "import", str(SAMPLE_ORG), cwd=tmp_path, **env)
    assert "already up to date — nothing changed" in second.stdout
    exported = goalnudge("org", "export", "-o", "out.yaml", cwd=tmp_path, **env)
    assert exported.returncode == 0
    third = goalnudge("org", "import", "out.yaml", cwd=tmp_path, **env)
    assert "already up to date" in third.stdout, third.stdout + third.stderr


def test_a_file_for_another_organisation_is_not_silently_a_second_one(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'org.db'}"}
    goalnudge("org", "import", str(SAMPLE_ORG), cwd=tmp_path, **env)
    beta = tmp_path / "beta.yaml"
    beta.write_text(SAMPLE_ORG.read_text().replace("slug: acme", "slug: beta"))
    refused = goalnudge("org", "import", str(beta), cwd=tmp_path, **env)
    assert refused.returncode == 2
    assert (
        "this file is organisation beta, and the database holds acme. To update acme from it, "
        "set GOALNUDGE_ORG=acme; to add beta as a further organisation, run "
        "`goalnudge org import --new-org`" in refused.stderr
    )
    chat = goalnudge("chat", "--as", "alice@acme.example", cwd=tmp_path, stdin="quit\n", **env)
    assert chat.returncode == 0 and "Several organisations" not in chat.stderr  # still one
    added = goalnudge("org", "import", "--new-org", str(beta), cwd=tmp_path, **env)
    assert added.returncode == 0 and "21 created" in added.stdout
    into = goalnudge("org", "import", str(beta), cwd=tmp_path, **env, GOALNUDGE_ORG="acme")
    assert "Importing into organisation acme (GOALNUDGE_ORG), not the file's beta." in into.stdout


def test_a_bad_org_file_lists_every_problem_and_imports_nothing(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'org.db'}"}
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        SAMPLE_ORG.read_text()
        .replace("America/Chicago", "Mars/Olympus")
        .replace("role: engineering", "role: enginering", 1)
    )
    run = goalnudge("org", "import", str(bad), cwd=tmp_path, **env)
    assert run.returncode == 2
    assert "bad.yaml:24: people[3].timezone: unknown timezone 'Mars/Olympus'" in run.stderr
    assert "bad.yaml:35: people[5].role: Input should be" in run.stderr
    assert "the org file has 2 problems; nothing was imported." in run.stderr
    chat = goalnudge("chat", "--as", "alice@acme.example", cwd=tmp_path, **env)
    assert chat.returncode == 2 and "run `goalnudge db upgrade`" in chat.stderr  # nothing made


def test_chat_answers_the_open_prompt_and_refuses_bad_input(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
        "GOALNUDGE_SAMPLE_DATA": str(SAMPLE_DATA),
    }
    goalnudge("org", "import", str(SAMPLE_ORG), cwd=tmp_path, **env)
    run = goalnudge(
        "checkin", "run", "--now", "--person", "alice@acme.example", cwd=tmp_path, **env
    )
    assert "goalnudge → Alice Chen" in run.stdout and "Planned 1" in run.stdout
    # Adjust asks each key result the prompt is about in turn, and again only the one typed
    # wrong; `ok` keeps the CRM's demos
    script = "update arr-bob 5\n2\nabout 400k\n$400,000\nok\nbig renewal\ngoals\nquit\n"
    chat = goalnudge("chat", "--as", "alice@acme.example", cwd=tmp_path, stdin=script, **env)
    lines = chat.stdout
    assert "“about 400k” is not a number" in lines
    assert "“Close $500k in New ARR (Bob)” belongs to Bob Okafor" in lines
    assert "only they or their manager can update it" in lines and "*" not in lines
    assert (
        "✅ Updated “Close $600k in New ARR (Alice)”: $400,000 — 67% of quota $600,000, "
        "56% of target $720,000. Note: big "
        "renewal" in lines
    )
    assert "✅ Updated “Complete 45 demos”: 31 demos — 69% of target 45 demos. Note: big" in lines
    assert ": $400,000 — 67% of quota $600,000, 56% of target $720,000 · " in lines
    stranger = goalnudge("chat", "--as", "nobody@acme.example", cwd=tmp_path, **env)
    assert stranger.returncode == 1
    assert stranger.stdout.strip().startswith("goalnudge: no one with email nobody@acme.example")


def test_managers_get_their_digest_and_a_manual_sync_reports_per_person(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'd.db'}",
        "GOALNUDGE_SAMPLE_DATA": str(SAMPLE_DATA),
    }
    goalnudge("org", "import", str(SAMPLE_ORG), cwd=tmp_path, **env)
    sync = goalnudge("sync", "crm", cwd=tmp_path, **env)
    assert "Salesforce: 3 API call(s)" in sync.stdout  # one per metric, for every rep at once
    assert "Bob Okafor — Close $500k in New ARR (Bob): $292,000" in sync.stdout
    assert "Alice Chen — Complete 45 demos: 31 demos" in sync.stdout
    assert "Bob Okafor — Cut the sales cycle from 90 to 75 days: 78.5 days" in sync.stdout
    digest = goalnudge("digest", "post", "--team", "Sales East", cwd=tmp_path, **env)
    assert "📊 Sales East digest" in digest.stdout
    erin = goalnudge(
        "chat", "--as", "erin@acme.example", cwd=tmp_path, stdin="digest Platform\n", **env
    )
    assert "Only Platform's manager can read its digest." in erin.stdout


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "DATABASE_URL",
            "mysql://x/y",
            "DATABASE_URL: unsupported database 'mysql' (use sqlite or postgresql)",
        ),
        (
            "PORT",
            "eighty",
            "PORT: Input should be a valid integer, unable to parse string as an integer",
        ),
        ("GOALNUDGE_TIMEZONE", "Moon/Base", "GOALNUDGE_TIMEZONE: unknown timezone 'Moon/Base'"),
    ],
)
def test_a_bad_setting_fails_with_one_line_naming_it(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    run = goalnudge("db", "upgrade", cwd=tmp_path, **{name: value})
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [f"goalnudge: {message}"]


def test_db_upgrade_migrates_a_real_postgresql(tmp_path: Path, pg_server: object) -> None:
    url = pg_server.create_database("cli_upgrade")  # type: ignore[attr-defined]
    run = goalnudge("db", "upgrade", cwd=tmp_path, DATABASE_URL=url.replace("+asyncpg", ""))
    assert run.returncode == 0, run.stderr
    assert "Database is at the latest schema" in run.stdout
    imported = goalnudge("org", "import", str(SAMPLE_ORG), cwd=tmp_path, DATABASE_URL=url)
    assert "21 created" in imported.stdout


def imported(run: subprocess.CompletedProcess[str]) -> set[str]:
    """The modules a run imported, from its PYTHONPROFILEIMPORTTIME report on stderr."""
    lines = [line for line in run.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[-1].strip() for line in lines[1:]}  # the first is the header


async def test_checkin_run_and_digest_post_send_through_slack_without_building_bolt(
    tmp_path: Path,
) -> None:
    from conftest import sample_database
    from fakes.slack_api import FakeSlack

    url = await sample_database(tmp_path / "send.db")
    async with FakeSlack() as slack:
        slack.add_user("UALICE", "alice@acme.example")
        env = {
            "DATABASE_URL": url,
            "GOALNUDGE_SAMPLE_DATA": str(SAMPLE_DATA),
            "SLACK_BOT_TOKEN": "xoxb-cli",
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": slack.url,
            "PYTHONPROFILEIMPORTTIME": "1",
        }
        ask = ("checkin", "run", "--now", "--person", "alice@acme.example")
        run = await asyncio.to_thread(goalnudge, *ask, cwd=tmp_path, **env)
        post = ("digest", "post", "--team", "Sales East")
        digest = await asyncio.to_thread(goalnudge, *post, cwd=tmp_path, **env)
    assert run.returncode == 0 and digest.returncode == 0, run.stderr[-2000:]
    assert "Planned 1" in run.stdout and "sent 1" in run.stdout
    prompt, posted = slack.called("chat.postMessage")
    assert prompt.params["channel"] == "UALICE" and prompt.token == "xoxb-cli"
    assert "Salesforce shows you closed" in prompt.params["text"]
    assert posted.params["channel"] == "#sales-east" and "Sales East" in posted.params["text"]
    for modules in (imported(run), imported(digest)):
        assert "slack_sdk.web.async_client" in modules  # the report lists what was imported
        assert not {m for m in modules if m.startswith("slack_bolt")}
        assert not {"bot.channels.slack.listeners", "bot.channels.teams.bot"} & modules


def test_checkin_run_with_no_tracker_configured_cites_no_stored_reading(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 't.db'}"}
    sample = {"GOALNUDGE_SAMPLE_DATA": str(SAMPLE_DATA)}
    goalnudge("org", "import", str(SAMPLE_ORG), cwd=tmp_path, **env)
    synced = goalnudge("sync", "tracker", cwd=tmp_path, **env, **sample)
    assert "Grace Kim — Release mobile SDK 3.0: MOB-3 In Progress" in synced.stdout
    alone = goalnudge(
        "checkin", "run", "--now", "--person", "grace@acme.example", cwd=tmp_path, **env
    )
    assert "goalnudge → Grace Kim" in alone.stdout
    assert "Weekly check: how confident are you in “Release mobile SDK 3.0”" in alone.stdout
    assert "Jira shows" not in alone.stdout and "MOB-3" not in alone.stdout
    told = goalnudge(
        "checkin", "run", "--now", "--person", "erin@acme.example", cwd=tmp_path, **env, **sample
    )
    assert "Jira shows epic PAY-12 “Payment Gateway v2” is past its due date" in told.stdout

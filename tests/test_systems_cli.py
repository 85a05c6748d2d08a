"""Salesforce and Jira by configuration alone: `goalnudge demo` and `goalnudge sync` on fakes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time
from pathlib import Path

import pytest
import yaml
from fakes.jira import FakeJira
from fakes.salesforce import FakeSalesforce
from test_cli import goalnudge

from bot.demo import SAMPLE_DATA, SAMPLE_ORG

ALICE_ID = "0058d000001AbCdAAK"  # as in the sample org file; Bob is matched by email


@pytest.fixture
def systems() -> Iterator[dict[str, str]]:
    """Fakes holding the sample data's deals and epics; the environment that points at them."""
    data = yaml.safe_load(SAMPLE_DATA.read_text())
    with (
        FakeSalesforce(users_login={"bot@acme.example": ("pw", "TOK")}) as sf,
        FakeJira("cloud") as jira,
    ):
        ids = {"alice@acme.example": ALICE_ID, "bob@acme.example": "0058d000002XyZwAAK"}
        for email, user in ids.items():
            sf.add_user(user, email)
        for deal in data["crm"]["deals"]:
            created = datetime.combine(deal["created_on"], time(12), UTC)
            sf.add_opportunity(
                ids[deal["owner"]],
                deal["amount"],
                deal["closed_on"],
                name=deal["name"],
                created_date=created,
            )
        for meeting in data["crm"]["meetings"]:
            sf.add_event(ids[meeting["owner"]], meeting["held_on"], event_type=meeting["type"])
        for epic in data["tracker"]["epics"]:
            jira.add_epic(
                epic["key"],
                epic["title"],
                due=str(epic["due"]),
                updated=epic["updated"].replace("+00:00", ".000+0000"),
            )
            for i in range(epic["total_issues"]):
                jira.add_child(
                    epic["key"],
                    f"{epic['key']}{i}".replace("-", "C") + "-1",
                    done=i >= epic["open_issues"],
                )
        yield {
            "REQUESTS_CA_BUNDLE": sf.ca_bundle,
            "SALESFORCE_USERNAME": "bot@acme.example",
            "SALESFORCE_PASSWORD": "pw",
            "SALESFORCE_SECURITY_TOKEN": "TOK",
            "SALESFORCE_DOMAIN": sf.login_domain,
            "JIRA_URL": jira.url,
            "JIRA_EMAIL": "bot@acme.example",
            "JIRA_API_TOKEN": "token",
        }


def test_the_demo_runs_on_salesforce_and_jira_through_configuration(
    tmp_path: Path, systems: dict[str, str]
) -> None:
    run = goalnudge("demo", cwd=tmp_path, **systems)
    assert run.returncode == 0, run.stderr
    assert (
        "(Salesforce sync, 5 API calls: Alice Chen: $384,000; Bob Okafor: $262,000; "
        "Alice Chen: 26 demos; Bob Okafor: 90 days)" in run.stdout
    )  # the Bob lookup by email, the aggregate, the recent deals, the demos, the won deals
    assert "Salesforce shows 28 demos this quarter: 28 of 45." in run.stdout
    assert (
        "Salesforce shows your average sales cycle at 78.5 days for deals won this quarter "
        "(from 90, target 75)." in run.stdout
    )
    assert "Salesforce shows you closed 2 deals since your last update ($84,000)." in run.stdout
    assert (
        "Jira shows epic PAY-12 “Payment Gateway v2” is past its due date (Fri 13 Nov) "
        "with 6 of 15 issues open."
    ) in run.stdout
    assert "📊 Sales East digest" in run.stdout


def test_sync_prints_what_it_found_and_bad_credentials_are_one_line(
    tmp_path: Path, systems: dict[str, str]
) -> None:
    db = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 's.db'}"}
    goalnudge("org", "import", str(SAMPLE_ORG), cwd=tmp_path, **db)
    run = goalnudge("sync", cwd=tmp_path, **db, **systems)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Alice Chen — Close $600k in New ARR (Alice): $445,000" in run.stdout
    assert "API usage" in run.stdout and "/15,000" in run.stdout
    assert "Erin Walsh — Ship Payment Gateway v2: PAY-12 In Progress, 6/15 open" in run.stdout
    bad = goalnudge("sync", "crm", cwd=tmp_path, **db, **(systems | {"SALESFORCE_PASSWORD": "x"}))
    assert bad.returncode == 1
    errors = [line for line in bad.stdout.splitlines() if "error" in line]
    assert (
        errors
        == [
            "  error: Salesforce: login refused: INVALID_LOGIN: Invalid username, "
            "password, security token; or user locked out."
        ]
        or len(errors) == 1
    )


async def test_readiness_and_metrics_report_a_failing_crm(
    tmp_path: Path, systems: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import aiohttp
    from aiohttp.test_utils import TestServer
    from conftest import sample_database

    from bot.app import open_app
    from bot.config import Settings
    from bot.server import HEALTH, build_web_app, tick

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", systems["REQUESTS_CA_BUNDLE"])
    url = await sample_database(tmp_path / "ready.db")
    fields = {k.lower(): v for k, v in systems.items() if k.startswith(("SALESFORCE", "JIRA"))}
    for password, ready in (("pw", True), ("wrong", False)):
        settings = Settings(database_url=url, **(fields | {"salesforce_password": password}))
        async with open_app(settings) as app:
            web_app, channel = build_web_app(settings, app)
            await tick(app, channel, web_app[HEALTH])
            server = TestServer(web_app, host="127.0.0.1")
            await server.start_server()
            async with aiohttp.ClientSession() as http:
                async with http.get(server.make_url("/readyz")) as response:
                    body = await response.json()
                    assert (response.status == 200) is ready, body
                async with http.get(server.make_url("/metrics")) as response:
                    metrics = await response.text()
            await server.close()
        if ready:
            assert body["checks"] == {
                "database": "ok",
                "migrations": "ok",
                "salesforce": "ok",
                "jira": "ok",
            }
            assert 'goalnudge_crm_api_usage{kind="allowed",source="Salesforce"} 15000.0' in metrics
        else:
            assert "login refused" in body["checks"]["salesforce"]
            assert 'goalnudge_integration_errors_total{source="Salesforce"} 1.0' in metrics

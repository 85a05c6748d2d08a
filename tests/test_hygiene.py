"""Hostile and broken input at the edges: numbers finite and in range, typed text cleaned before
storage, nothing people type in the logs, OAuth states bounded, event ids forgotten in time."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import slack_requests as sr
import teams_activities as ta
from pgserver import PostgresServer
from slack_harness import SECRET, Slack, button_value, nudge_alice, slack_app
from slack_oauth_harness import Install, oauth_app
from sqlalchemy import func, select, text
from test_cli import goalnudge
from test_teams import ALICE, Teams, teams
from test_teams import nudge_alice as nudge_alice_in_teams

from bot.demo import SAMPLE_ORG
from bot.server import tick
from storage.models import ProcessedEventRow, SlackOAuthStateRow

__all__ = ["teams"]  # the Teams fixture, used here as test_teams uses it
DATABASES = itertools.count(1)
NOTE = "Initech signed early, keep it quiet"
RANGE = "is out of range (at most 1,000,000,000,000,000 either side of 0)"


def import_env(tmp_path: Path) -> dict[str, str]:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'org.db'}"}
    first = goalnudge("org", "import", str(SAMPLE_ORG), cwd=tmp_path, **env)
    assert first.returncode == 0, first.stderr
    return env


FINITE = "Input should be a finite number"


def test_an_org_file_with_nan_or_infinity_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    env = import_env(tmp_path)
    before = goalnudge("org", "export", cwd=tmp_path, **env).stdout
    broken = tmp_path / "broken.yaml"
    sample = SAMPLE_ORG.read_text()
    for line, bad in [
        ("target: 720000", "target: .inf"),
        ("quota: 500000", "quota: -.inf"),
        ("current: 210000", "current: .NaN"),
        ("confidence: 80", "confidence: .nan"),
        ("current: 80", "start: -.inf"),
    ]:
        sample = sample.replace(line, bad, 1)
    broken.write_text(sample)
    run = goalnudge("org", "import", str(broken), cwd=tmp_path, **env)
    assert run.returncode == 2
    assert [x.removeprefix(str(broken)) for x in run.stderr.splitlines() if str(broken) in x] == [
        f":80: objectives[1].key_results[0].target: {FINITE}",
        f":105: objectives[1].key_results[3].quota: {FINITE}",
        f":107: objectives[1].key_results[3].current: {FINITE}",
        f":122: objectives[2].key_results[0].confidence: {FINITE}",
        f":129: objectives[2].key_results[1].start: {FINITE}",
    ]
    assert "the org file has 5 problems; nothing was imported." in run.stderr
    assert "Traceback" not in run.stderr
    assert goalnudge("org", "export", cwd=tmp_path, **env).stdout == before


def test_typed_numbers_beyond_the_range_are_refused_in_chat_even_for_a_huge_target(
    tmp_path: Path,
) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"}
    huge = tmp_path / "huge.yaml"  # the largest target the org file allows
    huge.write_text(SAMPLE_ORG.read_text().replace("target: 720000", "target: 1e15", 1))
    assert goalnudge("org", "import", str(huge), cwd=tmp_path, **env).returncode == 0
    script = "".join(  # each refused value is asked again: an empty line stops there
        f"update arr-alice {raw}\n\n" for raw in ("1e300", "1e309", "nan", "-inf", "Infinity")
    )
    chat = goalnudge(
        "chat", "--as", "alice@acme.example", cwd=tmp_path, stdin=script + "goals\nquit\n", **env
    )
    said = chat.stdout
    assert f"“1e300” {RANGE}" in said
    for raw in ("1e309", "nan", "-inf", "Infinity"):
        assert f"“{raw}” is not a finite number — try something like 412000." in said
    assert "Updated" not in said
    assert ": $300,000 — 50% of quota $600,000, 0% of target $1,000,000,000,000,000" in said


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[Slack]:
    async with slack_app(tmp_path) as running:
        yield running


@pytest.fixture
async def slack_pg(tmp_path: Path, pg_server: PostgresServer) -> AsyncIterator[Slack]:
    url = pg_server.create_database(f"hygiene_{next(DATABASES)}")
    async with slack_app(tmp_path, url) as running:
        yield running


async def adjust_modal(slack: Slack) -> str:
    """Alice's nudge, her click on Adjust…; the modal's private metadata."""
    nudge = await nudge_alice(slack)
    value = button_value(nudge, "gn:adjust")
    await slack.post(sr.block_actions("UALICE", "gn:adjust", value, secret=SECRET))
    [opened] = await slack.wait_for("views.open")
    return str(opened.params["view"]["private_metadata"])


def submit(meta: str, value: str, note: str | None = None) -> sr.Request:
    values = {"value:arr-alice": {"v": {"type": "plain_text_input", "value": value}}}
    if note is not None:
        values["note"] = {"v": {"type": "plain_text_input", "value": note}}
    return sr.view_submission("UALICE", "gn:adjust_modal", values, meta, secret=SECRET)


async def test_a_slack_modal_refuses_numbers_out_of_range_inline(slack: Slack) -> None:
    meta = await adjust_modal(slack)
    for raw, error in [
        ("1e309", "“1e309” is not a finite number — try something like 412000."),
        ("NaN", "“NaN” is not a finite number — try something like 412000."),
        ("2e15", f"“2e15” {RANGE} — try something like 412000."),
    ]:
        response = await slack.post(submit(meta, raw))
        assert json.loads(await response.text()) == {
            "response_action": "errors",
            "errors": {"value:arr-alice": error},
        }
    kr = await slack.app.deps.directory.key_result("arr-alice")
    assert kr is not None and kr.current == 300_000
    assert await slack.app.deps.ledger.history("arr-alice") == []


async def test_a_teams_card_refuses_infinity_inline(teams: Teams) -> None:
    card = await nudge_alice_in_teams(teams)
    adjust = next(a for a in card["actions"] if a["title"] == "Adjust…")
    data = {"verb": "adjust", "c": adjust["card"]["body"][-1]["actions"][0]["data"]["c"]}
    for raw in ("inf", "1e309"):
        status, body = await teams.post(
            ta.card_action(
                ALICE,
                "adjust",
                data | {"value:arr-alice": raw},
                service_url=teams.fake.url,
                conversation_id=ALICE.personal_conversation_id,
                reply_to_id="act-1",
            )
        )
        shown = json.dumps(body, ensure_ascii=False)
        assert status == 200 and f"“{raw}” is not a finite number" in shown
    kr = await teams.app.deps.directory.key_result("arr-alice")
    assert kr is not None and kr.current == 300_000


async def test_a_note_with_a_nul_byte_is_stored_without_it_on_postgresql(
    slack_pg: Slack,
) -> None:
    meta = await adjust_modal(slack_pg)
    typed = "Initech\x00 signed\x1b[31m early\r\n\tsee thread\x7f"
    response = await slack_pg.post(submit(meta, "400000", typed))
    assert response.status == 200
    [update] = await slack_pg.wait_for("chat.update")
    assert update.params["text"].endswith("Note: Initech signed[31m early\n\tsee thread")
    [stored] = await slack_pg.app.deps.ledger.history("arr-alice")
    assert (stored.value, stored.note) == (400_000, "Initech signed[31m early\n\tsee thread")


async def test_a_database_error_logs_neither_the_note_nor_the_email(
    slack_pg: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    meta = await adjust_modal(slack_pg)
    async with slack_pg.app.store.engine.begin() as connection:  # the disk is full, say
        await connection.execute(
            text(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'could not extend file: No space left'; END $$"
            )
        )
        await connection.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON progress_updates "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
        )
    caplog.set_level(logging.INFO)
    await slack_pg.post(submit(meta, "400000", NOTE))
    await asyncio.sleep(0.3)
    assert await slack_pg.app.deps.ledger.history("arr-alice") == []
    logged = [
        logging.Formatter("%(name)s %(levelname)s %(message)s").format(r) for r in caplog.records
    ]
    assert any("No space left" in line for line in logged)  # the failure itself is logged
    assert [line for line in logged if NOTE in line or "alice@acme.example" in line] == []


@pytest.fixture
async def install(tmp_path: Path) -> AsyncIterator[Install]:
    async with oauth_app(tmp_path) as running_app:
        yield running_app


async def test_a_flood_of_install_requests_keeps_at_most_the_cap_and_a_started_install_works(
    install: Install,
) -> None:
    states = install.on.app.store.oauth_states
    states.cap = 200  # the default is 1,000; the flood is ten times the cap either way
    authorize, cookie = await install.start()  # a genuine admin, before the flood
    for _ in range(2_000):
        await install.on.http.get(f"{install.on.base}/slack/install", allow_redirects=False)
    async with states.sessions() as session:
        live = await session.scalar(select(func.count()).select_from(SlackOAuthStateRow))
    assert live == states.cap
    status, page = await install.back("code-T1", authorize.query["state"], cookie)
    assert status == 200, page
    assert "goalnudge is installed in Acme" in page
    later, cookie = await install.start()  # and a new install once the flood is over
    status, page = await install.back("code-T2", later.query["state"], cookie)
    assert status == 200, page


async def processed(slack: Slack) -> int:
    async with slack.app.store.scope.sessions() as session:
        return await session.scalar(select(func.count()).select_from(ProcessedEventRow)) or 0


async def test_event_ids_are_forgotten_a_day_later_and_a_retry_before_changes_nothing(
    slack: Slack,
) -> None:
    start = slack.clock.now()
    await slack.post(sr.app_home_opened("UALICE", secret=SECRET, event_id="EvOld"))
    await slack.wait_for("views.publish")
    slack.clock.set(start + timedelta(hours=23))
    await slack.post(sr.app_home_opened("UBOB", secret=SECRET, event_id="EvNew"))
    await slack.wait_for("views.publish", 2)
    await tick(slack.app, slack.channel)
    await slack.post(sr.app_home_opened("UALICE", secret=SECRET, event_id="EvOld", retry_num=3))
    await asyncio.sleep(0.2)
    assert len(slack.fake.called("views.publish")) == 2  # 23 h on, still remembered
    assert await processed(slack) == 2

    slack.clock.set(start + timedelta(hours=24, minutes=1))
    await tick(slack.app, slack.channel)
    assert await processed(slack) == 1  # EvOld forgotten, EvNew (1 h old) kept
    await slack.post(sr.app_home_opened("UBOB", secret=SECRET, event_id="EvNew", retry_num=1))
    await asyncio.sleep(0.2)
    assert len(slack.fake.called("views.publish")) == 2
    slack.clock.set(start + timedelta(hours=48))
    await tick(slack.app, slack.channel)
    assert await processed(slack) == 0


async def test_an_answered_check_in_stays_answered_after_its_event_id_is_forgotten(
    slack: Slack,
) -> None:
    nudge = await nudge_alice(slack)
    click = sr.block_actions(
        "UALICE", "gn:confirm", button_value(nudge, "gn:confirm"), secret=SECRET,
        action_ts="1700000100.1",
    )  # fmt: skip
    await slack.post(click)
    await slack.wait_for("chat.update")
    slack.clock.set(slack.clock.now() + timedelta(days=2))
    await tick(slack.app, slack.channel)
    assert await processed(slack) == 0
    await slack.post(click)  # a replay long after any retry window
    await asyncio.sleep(0.3)
    assert len(await slack.app.deps.ledger.history("arr-alice")) == 1

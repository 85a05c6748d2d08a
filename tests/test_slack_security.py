"""Slack under hostile and broken input: signed requests to the real server, the fake Slack."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote_plus

import pytest
import slack_requests as sr
from fakes.slack_api import Call
from slack_harness import SECRET, Slack, button_value, nudge_alice, slack_app
from slack_oauth_harness import TOKENS, oauth_app

from bot.channels.slack import inbound
from bot.demo import SAMPLE_ORG
from bot.server import WORKSPACES

SECRET_NOTE = "Initech is about to churn, keep this quiet"


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[Slack]:
    async with slack_app(tmp_path) as running:
        yield running


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record at every level, Bolt's and slack_sdk's included; refusals not yet throttled."""
    inbound.refusals.seen.clear()  # another test's refusals from 127.0.0.1 must not hide ours
    for name in (None, "slack_bolt", "slack_sdk", "aiohttp", "goalnudge"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


def text_of(records: list[logging.LogRecord]) -> str:
    return "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in records)


def forged(body: str, content_type: str = sr.FORM) -> list[dict[str, str]]:
    """The ways a request arrives without a valid signature."""
    now = int(time.time())
    good = sr.signed(body, SECRET, content_type=content_type)
    return [
        {"Content-Type": content_type},
        sr.signed(body, "wrong-secret", content_type=content_type),
        sr.signed(body, SECRET, timestamp=now - 600, content_type=content_type),
        good | {"X-Slack-Request-Timestamp": "abc"},
        good | {"X-Slack-Request-Timestamp": "1e9999"},
        {k: v for k, v in good.items() if k != "X-Slack-Signature"},
    ]


def malformed() -> list[tuple[str, str]]:
    """Bodies with a valid signature that are not what Slack sends."""
    return [
        ("payload=%7Bnot-json", sr.FORM),
        ("payload=%5B%5D", sr.FORM),
        ("payload=null", sr.FORM),
        ("payload=%22a+string%22", sr.FORM),
        ("payload=%7B%7D", sr.FORM),
        ('{"type": "event_callback", "event": {"type": "mess', sr.JSON),
        ("[]", sr.JSON),
        ("null", sr.JSON),
        ('"a string"', sr.JSON),
        ('{"type": "nothing goalnudge knows"}', sr.JSON),
        ('{"type": "block_actions"}', sr.JSON),
        ("\xff\xfe", sr.JSON),
    ]


async def test_unsigned_and_malformed_requests_get_a_cheap_4xx_and_one_warning(
    slack: Slack, logged: pytest.LogCaptureFixture
) -> None:
    body, _ = sr.block_actions("UALICE", "gn:confirm", '{"c": 1}', secret=SECRET)
    statuses: list[int] = []
    while len(statuses) < 200:
        for headers in forged(body):
            statuses.append((await slack.post((body, headers))).status)
        for text, content_type in malformed():
            signed = sr.signed(text, SECRET, content_type=content_type)
            statuses.append((await slack.post((text, signed))).status)
    kinds = len(forged(body)) + len(malformed())
    assert statuses[:kinds] == [401] * len(forged(body)) + [400] * len(malformed())
    assert set(statuses) == {400, 401}
    records = logged.records
    assert not [r for r in records if r.levelno >= logging.ERROR or r.exc_info]
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, text_of(warnings)
    line = warnings[0].getMessage()
    assert "127.0.0.1" in line and f"{len(body)} bytes" in line and "Initech" not in line
    assert slack.fake.calls == [] or {c.method for c in slack.fake.calls} == {"auth.test"}


async def test_a_refused_body_is_never_logged(
    slack: Slack, logged: pytest.LogCaptureFixture
) -> None:
    nudge = await nudge_alice(slack)
    values = {"note": {"v": {"type": "plain_text_input", "value": SECRET_NOTE}}}
    meta = json.dumps({"c": json.loads(button_value(nudge, "gn:adjust"))["c"]})
    logged.clear()  # the round's own debug lines
    body, _ = sr.view_submission("UALICE", "gn:adjust_modal", values, meta, secret=SECRET)
    late = sr.signed(body, SECRET, timestamp=int(time.time()) - 360, content_type=sr.FORM)
    assert (await slack.post((body, late))).status == 401  # genuine, 6 minutes late
    wrong = sr.signed(body, "an-old-signing-secret", content_type=sr.FORM)
    assert (await slack.post((body, wrong))).status == 401
    big = f"payload={SECRET_NOTE}" + "x" * 900_000
    for _ in range(20):
        assert (
            await slack.post((big, sr.signed(big, "wrong", content_type=sr.FORM)))
        ).status == 401
    assert SECRET_NOTE not in text_of(logged.records)
    # 22 refused requests, 18 MB of forged bodies: no line carries any of it, and the refusals
    # are throttled to a line or two (whatever else a busy machine logs meanwhile)
    assert "x" * 40 not in text_of(logged.records)
    assert len([r for r in logged.records if "refused" in r.getMessage()]) <= 2
    kr = await slack.app.deps.directory.key_result("arr-alice")
    assert kr is not None and kr.current == 300_000


async def test_a_body_over_the_limit_is_refused_before_it_is_read(slack: Slack) -> None:
    huge = "payload=" + "x" * (inbound.MAX_BODY + 1)
    response = await slack.post((huge, sr.signed(huge, SECRET, content_type=sr.FORM)))
    assert response.status == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(4):
            yield b"x" * (inbound.MAX_BODY // 2)

    headers = sr.signed("", SECRET, content_type=sr.FORM)
    async with slack.http.post(slack.url, data=chunks(), headers=headers) as chunked:
        assert chunked.status == 413
    just_under = "payload=" + "x" * (inbound.MAX_BODY - 100)
    signed = sr.signed(just_under, SECRET, content_type=sr.FORM)
    assert (await slack.post((just_under, signed))).status == 400  # read, then found malformed


def ephemerals(slack: Slack) -> list[Call]:
    return slack.fake.called("chat.postEphemeral")


async def test_button_values_goalnudge_did_not_render_get_a_note_not_an_error(
    slack: Slack, logged: pytest.LogCaptureFixture
) -> None:
    await nudge_alice(slack)
    kinds = [
        ("gn:confirm", "not json"),
        ("gn:confirm", "[1, 2]"),
        ("gn:not_now", '{"checkin": 1}'),
        ("gn:confirm", '{"c": "1"}'),
        ("gn:snooze", '{"c": ' + "9" * 40 + "}"),
        ("gn:confirm", '{"c": ' + "9" * 5000 + "}"),
        ("gn:adjust", '{"c": null}'),
        ("gn:flag_risk", '{"c": true}'),
        ("gn:on_track", '{"c": 1.5}'),
        ("gn:update_kr", "no-such-key-result"),
        ("gn:details", "No Such Team"),
        ("gn:delete_everything", '{"c": 1}'),
    ]
    for n, (action_id, value) in enumerate(kinds):
        click = sr.block_actions(
            "UALICE", action_id, value, secret=SECRET, channel="DUALICE", action_ts=f"17.{n}"
        )
        assert (await slack.post(click)).status == 200
    notes = await slack.wait_for("chat.postEphemeral", len(kinds))
    assert len(notes) == len(kinds)
    assert {n.params["user"] for n in notes} == {"UALICE"}
    assert {n.params["channel"] for n in notes} == {"DUALICE"}
    assert "That button is out of date: use the latest message from goalnudge." in {
        n.params["text"] for n in notes
    }
    other = sr.block_actions("UALICE", "someone-elses-button", "x", secret=SECRET)
    assert (await slack.post(other)).status == 200  # not ours: acknowledged, nothing said
    await asyncio.sleep(0.2)
    assert len(ephemerals(slack)) == len(kinds)
    assert not slack.fake.called("chat.update") and not slack.fake.called("views.open")
    assert not [r for r in logged.records if r.levelno >= logging.ERROR or r.exc_info]
    assert await slack.app.deps.ledger.history("arr-alice") == []


def calls_since(slack: Slack, start: int) -> str:
    """Everything the fake Slack was asked from the `start`th call on, as one text."""
    return json.dumps([(c.method, c.params) for c in slack.fake.calls[start:]])


async def click(slack: Slack, user: str, action_id: str, value: str, **kw: str) -> None:
    request = sr.block_actions(user, action_id, value, secret=SECRET, channel="C9", **kw)
    assert (await slack.post(request)).status == 200


async def test_another_persons_checkin_opens_no_modal_with_their_numbers(slack: Slack) -> None:
    value = button_value(await nudge_alice(slack), "gn:adjust")
    start = len(slack.fake.calls)
    for action_id in ("gn:adjust", "gn:flag_risk"):
        await click(slack, "UBOB", action_id, value)
        await click(slack, "USAM", action_id, value)  # her manager answers none of her prompts
    notes = await slack.wait_for("chat.postEphemeral", 4)
    assert [n.params["text"] for n in notes] == ["That check-in is not yours to answer."] * 4
    seen = calls_since(slack, start)
    assert not slack.fake.called("views.open")
    assert "384" not in seen and "300" not in seen and "arr-alice" not in seen

    await click(slack, "UALICE", "gn:adjust", value)  # her own: the modal, with her numbers
    [opened] = await slack.wait_for("views.open")
    assert "384000" in json.dumps(opened.params["view"])


async def test_a_key_result_is_prefilled_only_for_its_owner_their_managers_and_leaders(
    slack: Slack,
) -> None:
    start = len(slack.fake.calls)
    for user in ("UBOB", "UMAYA", "UFARID"):  # a peer, another team's manager, an engineer
        await click(slack, user, "gn:update_kr", "arr-alice")
    notes = await slack.wait_for("chat.postEphemeral", 3)
    assert {n.params["text"] for n in notes} == {
        "That is not yours to see: only its owner, their manager or a leader can."
    }
    assert not slack.fake.called("views.open")
    assert "300000" not in calls_since(slack, start) and "720" not in calls_since(slack, start)

    for n, user in enumerate(("UALICE", "USAM", "ULENA"), start=1):
        await click(slack, user, "gn:update_kr", "arr-alice", trigger_id=f"t-{user}")
        opened = await slack.wait_for("views.open", n)
        field = next(b for b in opened[-1].params["view"]["blocks"] if b.get("type") == "input")
        assert field["element"]["initial_value"] == "300000.0"
    meta = opened[-1].params["view"]["private_metadata"]
    values = {field["block_id"]: {"v": {"type": "plain_text_input", "value": "1"}}}
    save = sr.view_submission("ULENA", "gn:adjust_modal", values, meta, secret=SECRET)
    refused = json.loads(await (await slack.post(save)).text())  # a leader reads, never writes
    assert "only they or their manager can update it" in json.dumps(refused)
    kr = await slack.app.deps.directory.key_result("arr-alice")
    assert kr is not None and kr.current == 300_000


async def test_team_details_are_posted_only_for_its_manager_and_leaders(slack: Slack) -> None:
    for user in ("UFARID", "UMAYA", "UALICE"):
        await click(slack, user, "gn:details", "Sales East")
    notes = await slack.wait_for("chat.postEphemeral", 3)
    assert {n.params["text"] for n in notes} == {
        "Only Sales East's manager or a leader can read its details."
    }
    assert not slack.fake.called("chat.postMessage")
    await click(slack, "USAM", "gn:details", "Sales East")
    await click(slack, "ULENA", "gn:details", "Sales East")
    posted = await slack.wait_for("chat.postMessage", 2)
    assert [p.params["text"] for p in posted] == ["Sales East details"] * 2
    assert "Close $600k in New ARR (Alice)" in json.dumps(posted[0].params["blocks"])


async def test_a_slack_identity_is_matched_only_in_the_organisations_workspace(
    slack: Slack, logged: pytest.LogCaptureFixture
) -> None:
    slack.fake.add_user("UEVE", "alice@acme.example", team="T9")  # another workspace's Alice
    stranger = sr.slash_command("UEVE", "/goals", "", secret=SECRET, team_id="T9")
    reply = await (await slack.post(stranger)).text()
    assert "I don't know you yet" in reply and "New ARR" not in reply
    assert not slack.fake.called("users.info")  # not even looked up
    mine = await (await slack.post(sr.slash_command("UALICE", "/goals", "", secret=SECRET))).text()
    assert "Close $600k in New ARR (Alice)" in mine

    slack.fake.add_user("UALICE2", "alice@acme.example")  # her email, a second Slack user
    again = sr.slash_command("UALICE2", "/goals", "", secret=SECRET)
    assert "I don't know you yet" in await (await slack.post(again)).text()
    alice = await slack.app.deps.directory.person("alice@acme.example")
    assert alice is not None and alice.ids.get("slack") == "UALICE"  # never replaced
    refusals = [r.getMessage() for r in logged.records if r.levelno == logging.WARNING]
    assert len([r for r in refusals if "T9" in r]) == 1
    assert len([r for r in refusals if "UALICE2" in r]) == 1
    assert "alice@" not in text_of([r for r in logged.records if r.name.startswith("goalnudge")])


async def test_the_same_action_ts_in_two_workspaces_applies_in_both(tmp_path: Path) -> None:
    async with oauth_app(tmp_path) as install:
        await install.both(tmp_path)
        await install.monday_round()
        nudges = {
            c.token: button_value(c, "gn:confirm")
            for c in install.fake.called("chat.postMessage")
            if c.params["channel"] in ("UALICE", "WALICE")
        }
        clicks = [
            sr.block_actions(user, "gn:confirm", nudges[TOKENS[team]], secret=SECRET,
                             channel=f"D{user}", team_id=team, action_ts="1700000100.1")
            for user, team in (("UALICE", "T1"), ("WALICE", "T2"))
        ]  # fmt: skip
        for request in clicks:
            assert (await install.slack.post(request)).status == 200
        updates = await install.slack.wait_for("chat.update", 2)
        assert {u.token for u in updates} == set(TOKENS.values())
        assert all(u.params["text"].startswith("✅ Confirmed") for u in updates)

        body, headers = clicks[0]
        retry = (body, headers | {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"})
        assert (await install.slack.post(retry)).status == 200
        for user, team, retry in (
            ("UALICE", "T1", None),
            ("WALICE", "T2", None),
            ("WALICE", "T2", 1),
        ):  # one event id in both; T2 redelivers
            home = {"type": "app_home_opened", "user": user, "tab": "home"}
            event = sr.event(home, secret=SECRET, event_id="EvSame", team_id=team,
                             retry_num=retry)  # fmt: skip
            assert (await install.slack.post(event)).status == 200
        await asyncio.sleep(0.2)
        assert len(install.fake.called("chat.update")) == 2
        published = install.fake.called("views.publish")
        assert sorted(p.token for p in published) == sorted(TOKENS.values())
        for workspace in await install.on.web_app[WORKSPACES].all():
            assert len(await workspace.app.deps.ledger.history("arr-alice")) == 1


def answered_at(request: tuple[str, dict[str, str]], url: str) -> tuple[str, dict[str, str]]:
    """The request with its response_url at `url` (hooks.slack.com is not for tests)."""
    body, headers = request
    body = re.sub(r"https%3A%2F%2Fhooks\.slack\.com(%2F[A-Za-z0-9]+)+", quote_plus(url), body)
    return body, sr.signed(body, SECRET, content_type=headers["Content-Type"])


async def test_a_workspace_that_never_installed_gets_bolts_refusal(
    tmp_path: Path, logged: pytest.LogCaptureFixture
) -> None:
    async with oauth_app(tmp_path) as install:
        await install.workspace("T1", SAMPLE_ORG)
        respond = f"{install.fake.url}respond"
        home = {"type": "app_home_opened", "user": "UALICE", "tab": "home"}
        requests = [
            answered_at(
                sr.slash_command("UALICE", "/goals", "", secret=SECRET, team_id="T3"), respond
            ),
            answered_at(
                sr.block_actions("UALICE", "gn:confirm", '{"c": 1}', secret=SECRET, team_id="T3"),
                respond,
            ),
            sr.event(home, secret=SECRET, event_id="Ev3", team_id="T3"),
            answered_at(
                sr.block_actions("UALICE", "gn:confirm", '{"c": 1}', secret=SECRET, team_id="T3"),
                "http://127.0.0.1:1/respond",
            ),
        ]  # the last one's response_url is out of reach
        answers = []
        for request in requests:
            response = await install.slack.post(request)
            assert response.status == 200
            answers.append(await response.text())
        told = [c.params["text"] for c in install.fake.called("respond")]
        assert len(told) == 2 and answers[:2] == ["", ""] and answers[3] == ""
        assert all(
            "Please reinstall this app into your workspace" in t for t in [*told, answers[2]]
        )
        assert not [r for r in logged.records if r.exc_info]
        assert not install.fake.called("users.info") and not install.fake.called("views.publish")

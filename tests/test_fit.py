"""A digest, a roll-up, a goals list and a prompt that fit Slack's and Teams' limits at any size,
checked against fakes that refuse what the platforms refuse."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import slack_requests as sr
import teams_activities as ta
from bigorg import grow_team, load_up
from fakes.bot_connector import too_big
from fakes.slack_api import Call, refusal
from slack_harness import SECRET, Slack, button_value, nudge_alice, slack_app
from test_teams import MAYA, PLATFORM, Teams, card_of, teams  # noqa: F401 (the fixture)

from bot.core import digest
from bot.server import post_digest

# A 200-person team with 600 key results, 30 of them at risk.
PEOPLE, EACH, AT_RISK = 200, 3, 30


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[Slack]:
    async with slack_app(tmp_path) as running:
        yield running


def shown(call: Call) -> str:
    return json.dumps(call.params.get("blocks") or [], ensure_ascii=False)


def sections(calls: list[Call]) -> list[str]:
    return [
        str(b["text"]["text"])
        for c in calls
        for b in c.params.get("blocks") or []
        if b.get("type") == "section"
    ]


def within_limits(calls: list[Call]) -> None:
    for call in calls:
        assert refusal(call.method, call.params) is None
        assert len(call.params["blocks"]) <= 50
        assert sum(len(t) for t in sections([call])) <= 12_000
    for text in sections(calls):
        assert text.count("```") % 2 == 0, text[-200:]  # never cut inside a code fence


async def test_a_200_person_digest_posts_in_slack_exceptions_first_rest_in_the_thread(
    slack: Slack,
) -> None:
    titles = await grow_team(slack.app.deps, "Platform", PEOPLE, EACH, AT_RISK)
    composed = await digest.compose(slack.app.deps, "Platform")
    await slack.channel.post_digest(composed)
    first, *replies = slack.fake.called("chat.postMessage")
    within_limits([first, *replies])
    assert first.params["blocks"][0]["text"]["text"] == "Platform digest"
    assert button_value(first, "gn:details") == "Platform"
    assert "more in" in shown(first) and "in the thread below" in shown(first)
    assert all(c.params["thread_ts"] == "1700000000.000100" for c in replies)
    assert replies and all(t in shown(first) for t in titles[:AT_RISK])
    everything = "".join(shown(c) for c in [first, *replies])
    assert all(everything.count(f"*{t}*") == 1 for t in titles)  # each once, none lost


async def test_the_roll_up_of_a_big_org_posts_in_slack_with_whole_code_blocks(
    slack: Slack,
) -> None:
    await grow_team(slack.app.deps, "Platform", PEOPLE, EACH, AT_RISK)
    maya = await slack.app.deps.directory.person("maya@acme.example")
    assert maya is not None
    await slack.channel.post_rollup(maya, await digest.rollup(slack.app.deps))
    posts = slack.fake.called("chat.postMessage")
    within_limits(posts)
    assert "Company roll-up" in shown(posts[0])


async def test_a_person_with_60_key_results_gets_them_all_from_goals_and_home(
    slack: Slack,
) -> None:
    titles = await load_up(slack.app.deps, "alice@acme.example", 59)
    answer = await slack.post(sr.slash_command("UALICE", "/goals", "", secret=SECRET))
    assert answer.status == 200
    responses = slack.fake.called("response_url")
    assert len(responses) == 2  # 61 blocks: two messages, in order
    within_limits(responses)
    assert "more in 1 message below" in shown(responses[0])
    everything = "".join(map(shown, responses))
    assert all(everything.count(f"*{t}*") == 1 for t in titles)
    await slack.post(sr.app_home_opened("UALICE", secret=SECRET, event_id="EvHome60"))
    [home] = await slack.wait_for("views.publish")
    assert refusal("views.publish", home.params) is None
    assert all(t in json.dumps(home.params["view"]) for t in titles)
    composed = await digest.compose(slack.app.deps, "Sales East")
    await slack.channel.post_digest(composed)
    posts = slack.fake.called("chat.postMessage")
    within_limits(posts)
    assert all("".join(map(shown, posts)).count(f"*{t}*") == 1 for t in titles)


async def test_a_sales_prompt_confirms_exactly_the_key_results_it_shows(slack: Slack) -> None:
    await load_up(slack.app.deps, "alice@acme.example", 59, crm=True)
    nudge = await nudge_alice(slack)
    within_limits([nudge])
    krs = {kr.key: kr for kr in await slack.app.deps.directory.key_results(["alice@acme.example"])}
    asked = [kr for kr in krs.values() if f"*{kr.title}* →" in shown(nudge)]
    assert len(asked) == 10
    assert "…and 50 more changed — I'll ask about them next." in shown(nudge)
    await slack.post(
        sr.block_actions(
            "UALICE",
            "gn:confirm",
            button_value(nudge, "gn:confirm"),
            secret=SECRET,
            channel="DUALICE",
            message_ts="1700000000.000100",
            action_ts="1700000100.1",
        )
    )
    [outcome] = await slack.wait_for("response_url")
    assert refusal("response_url", outcome.params) is None
    after = {k.key: k for k in await slack.app.deps.directory.key_results(["alice@acme.example"])}
    changed = {key for key, kr in after.items() if kr.current != krs[key].current}
    assert changed == {kr.key for kr in asked}


def attachments(sent: list[Any]) -> list[dict[str, Any]]:
    return [card_of(s) for s in sent if s.body.get("attachments")]


async def test_a_200_person_digest_posts_in_teams_as_cards_within_the_size_limit(
    teams: Teams,  # noqa: F811
) -> None:
    titles = await grow_team(teams.app.deps, "Platform", PEOPLE, EACH, AT_RISK)
    await teams.post(
        ta.conversation_update_members_added(MAYA, service_url=teams.fake.url, team=PLATFORM)
    )
    await post_digest(teams.app.deps, teams.channel, "Platform")
    assert not [s for s in teams.fake.sent if s.status == 413]
    posts = [s for s in teams.fake.sent if s.conversation_id.startswith(PLATFORM.id)]
    assert len(posts) > 1 and all(not too_big(s.body) for s in posts)
    first, *rest = posts
    assert ";messageid=" not in first.conversation_id
    assert all(s.conversation_id == f"{PLATFORM.id};messageid={first.activity_id}" for s in rest)
    head = json.dumps(card_of(first), ensure_ascii=False)
    assert "📊 Platform digest" in head and card_of(first)["actions"]
    assert "more in the next" in head
    assert all(f"**{t}**" in head for t in titles[:AT_RISK])
    everything = "".join(json.dumps(card_of(s), ensure_ascii=False) for s in posts)
    assert all(everything.count(f"**{t}**") == 1 for t in titles)
    await teams.install(MAYA)
    await teams.post(teams.typed(MAYA, "digest", "m-big"))
    replies = attachments(teams.to(MAYA.personal_conversation_id))
    assert len(replies) > 1 and not [s for s in teams.fake.sent if s.status == 413]


async def test_the_roll_up_and_a_60_key_result_goals_list_post_in_teams(
    teams: Teams,  # noqa: F811
) -> None:
    await grow_team(teams.app.deps, "Platform", PEOPLE, EACH, AT_RISK)
    titles = await load_up(teams.app.deps, "maya@acme.example", 60)
    await teams.install(MAYA)
    maya = await teams.app.deps.directory.person("maya@acme.example")
    assert maya is not None
    await teams.channel.post_rollup(maya, await digest.rollup(teams.app.deps))
    await teams.post(teams.typed(MAYA, "goals", "m-goals"))
    assert not [s for s in teams.fake.sent if s.status == 413]
    sent = teams.to(MAYA.personal_conversation_id)
    assert any("Company roll-up" in json.dumps(card) for card in attachments(sent))
    texts = "".join(str(s.body.get("text") or "") for s in sent)
    assert all(f"**{t}**" in texts for t in titles)

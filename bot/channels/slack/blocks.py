"""Block Kit rendering, pure: prompts, outcomes, modals, digests and the App Home."""

from __future__ import annotations

import json
from typing import Any

from bot.channels.console import render_rollup
from bot.channels.slack.mrkdwn import mrkdwn
from bot.core import digest_words as words
from bot.core.digest import Digest, RollupNode, at_risk
from bot.core.prompts import Action, ActionId, Input, InputKind, Outcome, Prompt
from bot.core.rich import Rich, rich
from bot.core.standing import Standing
from bot.core.text import bar, day, percent

Block = dict[str, Any]
ACTION_PREFIX = "gn:"
ADJUST_MODAL = "gn:adjust_modal"
FLAG_MODAL = "gn:flag_modal"
DETAILS = "gn:details"
TEAM_DIGEST = "gn:team_digest"
UPDATE_KR = "gn:update_kr"
UNDO = "gn:undo"
SURE_MODAL = "gn:sure_modal"
METADATA = 3000  # characters of a view's private_metadata, at most


def text(body: str | Rich) -> Block:
    """A section of mrkdwn (neutral rich text is rendered to it); one too long for Slack is
    cut in pieces where it is sent (fit.py), never here."""
    body = mrkdwn(body) if isinstance(body, Rich) else body
    return {"type": "section", "text": {"type": "mrkdwn", "text": body}}


def context(body: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": body}]}


def button(label: str, action_id: str, value: str, style: str = "default") -> Block:
    made: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style in ("primary", "danger"):
        made["style"] = style
    return made


def prompt_blocks(prompt: Prompt) -> list[Block]:
    intro = "⏰ *Reminder* — still waiting on this one.\n" if prompt.reminder else ""
    body = mrkdwn(rich("\n").join([prompt.headline, *prompt.facts, prompt.question]))
    blocks = [text(intro + body)]
    deals = [f"• <{url}|{label}>" if url else f"• {label}" for label, url in prompt.links]
    if deals:
        blocks.append(context("\n".join(deals)))
    value = json.dumps({"c": prompt.checkin_id})
    blocks.append(
        {
            "type": "actions",
            "block_id": f"gn:prompt:{prompt.checkin_id}",
            "elements": [
                button(a.label, f"{ACTION_PREFIX}{a.id.value}", value, a.style)
                for a in prompt.actions
            ],
        }
    )
    return blocks


def outcome_blocks(outcome: Outcome) -> list[Block]:
    """The outcome; with an Undo button when it changed something that can be taken back (a
    click after 24 hours is told it can no longer be)."""
    if not outcome.undo:
        return [text(outcome.text)]
    undo = button("Undo", UNDO, outcome.undo)
    return [text(outcome.text), {"type": "actions", "block_id": "gn:undo", "elements": [undo]}]


def second_look_modal(
    outcome: Outcome, metadata: dict[str, Any], values: dict[str, str]
) -> Block | None:
    """Pushed over a form whose value looks like a slip: the old and new value, what looks
    wrong, and "Save anyway" (Back returns to the form to edit it); None when the outcome asks
    no second look, or the form is too big to carry along (its errors say what looks wrong)."""
    if not outcome.second_look:
        return None
    carried = json.dumps({"m": metadata, "v": values})
    if len(carried) > METADATA:
        return None
    return {
        "type": "modal",
        "callback_id": SURE_MODAL,
        "private_metadata": carried,
        "title": {"type": "plain_text", "text": "Did you mean it?"},
        "submit": {"type": "plain_text", "text": "Save anyway"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [text(outcome.text)],
    }


def _element(field: Input) -> Block:
    if field.kind is InputKind.CHOICE:
        options = [
            {"text": {"type": "plain_text", "text": title[:75]}, "value": key}
            for key, title in field.choices
        ]
        element: Block = {"type": "static_select", "action_id": "v", "options": options}
        chosen = [o for o in options if o["value"] == field.initial]
        if chosen:
            element["initial_option"] = chosen[0]
        return element
    if field.kind is InputKind.TOGGLE:
        option = {"text": {"type": "plain_text", "text": field.label}, "value": "yes"}
        return {"type": "checkboxes", "action_id": "v", "options": [option]}
    element = {
        "type": "plain_text_input",
        "action_id": "v",
        "multiline": field.name == "note" and field.kind is InputKind.TEXT,
    }
    if field.max_length:
        element["max_length"] = field.max_length
    if field.initial:  # a message flagged as a blocker may be longer than a note can be
        element["initial_value"] = field.initial[: field.max_length]
    return element


def input_block(field: Input) -> Block:
    label = field.label if field.kind is not InputKind.TOGGLE else "Tracker"
    return {
        "type": "input",
        "block_id": field.name,
        "optional": not field.required,
        "label": {"type": "plain_text", "text": label[:2000]},
        "element": _element(field),
    }


def modal(
    action: Action,
    metadata: dict[str, Any],
    heading: str | Rich,
    overrides: dict[str, str] | None = None,
) -> Block:
    """The modal an action opens; `overrides` prefill inputs (e.g. a message's text)."""
    overrides = overrides or {}
    fields = [
        Input(**{**vars(f), "initial": overrides.get(f.name, f.initial)}) for f in action.inputs
    ]
    callback = FLAG_MODAL if action.id is ActionId.FLAG_RISK else ADJUST_MODAL
    return {
        "type": "modal",
        "callback_id": callback,
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": action.label.rstrip("…")[:24]},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [text(heading), *(input_block(f) for f in fields)],
    }


def read_values(state: dict[str, Any]) -> dict[str, str]:
    """A view submission's `state.values` as {input name: text}."""
    found: dict[str, str] = {}
    for name, element in state.get("values", {}).items():
        value = element.get("v", {})
        if value.get("type") == "static_select":
            found[name] = (value.get("selected_option") or {}).get("value", "")
        elif value.get("type") == "checkboxes":
            found[name] = "yes" if value.get("selected_options") else ""
        else:
            found[name] = value.get("value") or ""
    return found


def goals_blocks(name: str, goals: list[Standing]) -> list[Block]:
    if not goals:
        return [text(f"{name}, you have no key results yet.")]
    blocks = [text(f"*{name}'s goals*")]
    for goal in goals:
        kr = goal.kr
        blocks.append(
            {
                **text(f"`{bar(kr.progress)}` {percent(kr.progress)} {mrkdwn(words.goal(goal))}"),
                "accessory": button("Update", UPDATE_KR, kr.key),
            }
        )
    return blocks


def digest_blocks(digest: Digest) -> list[Block]:
    """Needs attention, what changed, on track, participation; a Details button."""
    heading = f"📊 *{digest.team}* — {day(digest.since.date())} to {day(digest.until.date())}"

    def section(title: str, items: list[Rich], empty: str = "") -> list[Block]:
        if not items and not empty:
            return []
        shown = "\n".join(mrkdwn(item) for item in items) or empty
        return [text(f"*{title}*\n{shown}")]

    attention = [words.attention(s) for s in digest.exceptions]
    return [
        {
            "type": "header",
            "block_id": "gn:digest",
            "text": {"type": "plain_text", "text": f"{digest.team} digest"},
        },
        text(heading),
        *section(words.NEEDS_ATTENTION, attention, words.NOTHING_NEEDS_ATTENTION),
        *section(
            words.WHAT_CHANGED, list(map(words.changed, digest.changes)), words.NOTHING_CHANGED
        ),
        *section(words.ON_TRACK, [words.steady(s) for s in digest.rest]),
        context(f"*{words.PARTICIPATION}*: " + " · ".join(words.participation(digest))),
        {
            "type": "actions",
            "block_id": "gn:digest_actions",
            "elements": [button("Details", DETAILS, digest.team)],
        },
    ]


def details_text(digest: Digest) -> str:
    lines = [
        f"*{s.kr.title}* — {s.owner}: {s.value}, {s.status}"
        + (f", {s.kr.confidence}% confident" if s.kr.confidence is not None else "")
        for s in digest.lines
    ]
    return "\n".join(lines) or "No key results."


def home_view(name: str, goals: list[Standing], prompt: Prompt | None) -> Block:
    blocks = goals_blocks(name, goals)
    blocks.append({"type": "divider"})
    if prompt is None:
        blocks.append(context("No open check-in. I'll ask when there's something to confirm."))
    else:
        blocks += [text("*Your open check-in*"), *prompt_blocks(prompt)]
    return {"type": "home", "blocks": blocks}


def rollup_blocks(nodes: tuple[RollupNode, ...]) -> list[Block]:
    """The tree, each key result at risk with its note and team, and a button per such team
    that opens its digest (in a thread under the roll-up)."""
    blocks = [text("🏢 *Company roll-up*\n```" + "\n".join(render_rollup(nodes)) + "```")]
    risks = [mrkdwn(words.risk(n)) for n in at_risk(nodes)]
    if risks:
        blocks.append(text("*At risk*\n" + "\n".join(risks)))
        teams = words.teams_at_risk(nodes)
        # An actions block holds at most 25 elements; the hint names every team regardless.
        elements = [button(f"{team} digest", TEAM_DIGEST, team) for team in teams[:25]]
        blocks.append({"type": "actions", "block_id": "gn:rollup_actions", "elements": elements})
    return blocks

"""Adaptive Cards 1.5, pure: prompts with inline inputs, outcomes, digests, the blocker task."""

from __future__ import annotations

from typing import Any

from bot.channels.console import render_rollup
from bot.channels.teams.markdown import markdown
from bot.core import digest_words as words
from bot.core.digest import Digest, RollupNode, at_risk
from bot.core.prompts import Action, ActionId, Input, InputKind, Outcome, Prompt
from bot.core.rich import Rich, of
from bot.core.text import day

Card = dict[str, Any]
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
DETAILS = "details"
TEAM_DIGEST = "team_digest"
FLAG_TASK = "flag_task"


def card(body: list[Card], actions: list[Card] | None = None) -> Card:
    made: Card = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "body": body,
    }
    if actions:
        made["actions"] = actions
    return made


def attachment(content: Card) -> dict[str, Any]:
    return {"contentType": CONTENT_TYPE, "content": content}


def text(value: str | Rich, **style: Any) -> Card:
    """A TextBlock of markdown (neutral rich text is rendered to it)."""
    shown = markdown(value) if isinstance(value, Rich) else value
    return {"type": "TextBlock", "text": shown, "wrap": True, **style}


def execute(title: str, verb: str, data: dict[str, Any], style: str = "default") -> Card:
    """Action.Execute (Universal Actions) with Action.Submit as the fallback for older clients."""
    payload = {"verb": verb, **data}
    made: Card = {
        "type": "Action.Execute",
        "title": title,
        "verb": verb,
        "data": payload,
        "fallback": {"type": "Action.Submit", "title": title, "data": payload},
    }
    if style in ("positive", "destructive"):
        made["style"] = style
    return made


def placeholder(spec: Input) -> str:
    """What an empty number field shows: its range for a percentage (a confidence), otherwise
    an example amount."""
    if spec.unit == "%" and spec.minimum is not None and spec.maximum is not None:
        return f"{spec.minimum:g}–{spec.maximum:g}"
    return "e.g. 412000"


def field(spec: Input, error: str | None = None) -> list[Card]:
    label = spec.label + (f" ({spec.unit})" if spec.unit and spec.kind is InputKind.NUMBER else "")
    common: Card = {"id": spec.name, "label": label, "isRequired": spec.required}
    if spec.required:
        common["errorMessage"] = f"{spec.label} is required"
    if spec.kind is InputKind.CHOICE:
        made: Card = {
            **common,
            "type": "Input.ChoiceSet",
            "value": spec.initial or "",
            "choices": [{"title": t, "value": k} for k, t in spec.choices],
        }
    elif spec.kind is InputKind.TOGGLE:
        made = {
            **common,
            "type": "Input.Toggle",
            "title": spec.label,
            "valueOn": "yes",
            "valueOff": "",
        }
    elif spec.kind is InputKind.NUMBER:
        made = {
            **common,
            "type": "Input.Text",
            "value": spec.initial or "",
            "placeholder": placeholder(spec),
        }
    else:
        made = {
            **common,
            "type": "Input.Text",
            "value": (spec.initial or "")[: spec.max_length],
            "isMultiline": spec.name == "note",
        }
        if spec.max_length:
            made["maxLength"] = spec.max_length
    shown = [made]
    if error:
        shown.append(text(f"⚠️ {error}", color="attention", size="small"))
    return shown


def form(
    action: Action,
    checkin: int | None,
    *,
    errors: dict[str, str] | None = None,
    overrides: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> list[Card]:
    """The inputs of an action and its Save button (used inline in a card and in a task)."""
    errors, overrides = errors or {}, overrides or {}
    body: list[Card] = []
    for spec in action.inputs:
        spec = Input(**{**vars(spec), "initial": overrides.get(spec.name, spec.initial)})
        body += field(spec, errors.get(spec.name))
    data = {"c": checkin, **(extra or {})}
    return [
        *body,
        {"type": "ActionSet", "actions": [execute("Save", action.id.value, data, "positive")]},
    ]


def prompt_card(
    prompt: Prompt, *, errors: dict[str, str] | None = None, values: dict[str, str] | None = None
) -> Card:
    intro = (
        [text("⏰ Reminder — still waiting on this one.", weight="bolder")]
        if prompt.reminder
        else []
    )
    body = [*intro, text(prompt.headline), *map(text, prompt.facts), text(prompt.question)]
    body += [
        text(f"[{label}]({url})" if url else label, size="small", isSubtle=True)
        for label, url in prompt.links
    ]
    actions = []
    for action in prompt.actions:
        if action.inputs:
            actions.append(
                {
                    "type": "Action.ShowCard",
                    "title": action.label,
                    "card": card(form(action, prompt.checkin_id, errors=errors, overrides=values)),
                }
            )
        else:
            style = "positive" if action.style == "primary" else "default"
            actions.append(execute(action.label, action.id.value, {"c": prompt.checkin_id}, style))
    if errors:
        body.append(text("⚠️ " + " ".join(errors.values()), color="attention"))
    return card(body, actions)


def outcome_card(outcome: Outcome) -> Card:
    return card([text(outcome.text, color="default" if outcome.ok else "attention")])


def second_look(shown: Card, verb: str, data: dict[str, Any], said: Rich | None = None) -> Card:
    """`shown` (the prompt with its form kept for an edit, or the outcome) with what looks
    wrong (`said`, where `shown` does not say it) and "Save anyway", which sends the same
    answer back confirmed."""
    again = {k: v for k, v in data.items() if k != "verb"} | {"confirmed": "yes"}
    if said is not None:
        shown = {**shown, "body": [*shown["body"], text(said, weight="bolder")]}
    return {
        **shown,
        "actions": [execute("Save anyway", verb, again, "positive"), *shown.get("actions", [])],
    }


def flag_task(action: Action, link: str | None, note: str) -> Card:
    heading = text("Flag one of your goals at risk, with this message as the blocker.")
    return card(
        [
            heading,
            *form(action, None, overrides={"note": note}, extra={"link": link} if link else None),
        ]
    )


def digest_card(digest: Digest) -> Card:
    """Needs attention, what changed, on track, participation; a Details button."""
    body = [
        text(f"📊 {digest.team} digest", weight="bolder", size="large"),
        text(f"{day(digest.since.date())} – {day(digest.until.date())}", isSubtle=True),
    ]

    def section(title: str, items: list[Rich], empty: str = "", **style: Any) -> None:
        if items or empty:
            body.append(text(f"**{title}**", spacing="medium"))
        body.extend(text(item, **style) for item in items)
        if not items and empty:
            body.append(text(empty, isSubtle=True))

    attention = [words.attention(s) for s in digest.exceptions]
    section(words.NEEDS_ATTENTION, attention, words.NOTHING_NEEDS_ATTENTION, color="attention")
    section(words.WHAT_CHANGED, list(map(words.changed, digest.changes)), words.NOTHING_CHANGED)
    section(words.ON_TRACK, [words.steady(s) for s in digest.rest])
    section(words.PARTICIPATION, [of(line) for line in words.participation(digest)])
    return card(body, [execute("Details", DETAILS, {"team": digest.team})])


def rollup_card(nodes: tuple[RollupNode, ...]) -> Card:
    """The tree, each key result at risk with its note and team, and a button per such team
    that opens its digest."""
    body = [
        text("🏢 Company roll-up", weight="bolder"),
        text("\n".join(render_rollup(nodes)), fontType="monospace"),
    ]
    risks = at_risk(nodes)
    if risks:
        body += [text("**At risk**", spacing="medium"), *(text(words.risk(n)) for n in risks)]
    teams = words.teams_at_risk(nodes)
    return card(body, [execute(f"{t} digest", TEAM_DIGEST, {"team": t}) for t in teams])


def is_form_action(verb: str) -> bool:
    return verb in (ActionId.ADJUST.value, ActionId.FLAG_RISK.value)

"""Slack listeners: ack fast, parse to a neutral answer or command, call the core, render."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.slack import blocks, fit, guards
from bot.channels.slack.channel import SlackChannel
from bot.channels.slack.edge import SlackEdge
from bot.channels.slack.mrkdwn import mrkdwn
from bot.core import access, checkins, commands, digest, playbooks, standing
from bot.core.deps import Deps
from bot.core.errors import NotAllowed, NotFound
from bot.core.inbox import Worker
from bot.core.model import Person
from bot.core.ports import Applied, Change
from bot.core.prompts import Action, ActionId, Answer, Outcome, PromptItem, Said, from_form
from bot.core.rich import Rich, rich
from bot.core.writeback import follow_up

ONBOARDING = (
    "👋 Hi! I'm goalnudge: I keep your team's goals current. I don't know you yet — "
    "ask your admin to add your email to the org file, then type `/goals`."
)
PLATFORM = guards.PLATFORM
SIMPLE = re.compile(r"^gn:(confirm|not_now|on_track|snooze|still_blocked)$")
MODAL = re.compile(r"^gn:(adjust|flag_risk)$")


@dataclass
class SlackBot:
    deps: Deps
    channel: SlackChannel
    edge: SlackEdge  # records deliveries in the inbox
    worker: Worker | None = None  # applies what the listeners record in the inbox

    async def person(
        self, context: AsyncBoltContext, client: AsyncWebClient, user: dict[str, Any]
    ) -> Person | None:
        """The person behind a request's `user` ({"id", "team_id"}), within the workspace."""
        return await guards.person(
            self.deps, context, client, str(user.get("id")), user.get("team_id")
        )

    async def after(self, person: Person, where: str | None, outcome: Outcome) -> None:
        """Show the outcome in place of the prompt, then send what the answer queued."""
        if outcome.duplicate:
            return
        if where is None and outcome.pending:  # a message the write-back's outcome can update
            where = await self.channel.notify(person, outcome.text)
        else:
            await self.channel.replace(person, where, outcome)
        if outcome.notices:
            await self.edge.send_queued()
        follow_up(self.deps, outcome, lambda final: self.channel.replace(person, where, final))

    async def on_simple_action(
        self, ack: Any, body: dict, action: dict, client: Any, context: AsyncBoltContext
    ) -> None:
        """A click is recorded in the inbox before the ack; the worker applies and shows it."""
        checkin = guards.checkin_in(action.get("value"))
        user = body.get("user") or {}
        if checkin is None or not action.get("action_ts"):
            await ack()
            await guards.tell(client, body, guards.OUT_OF_DATE)
            return
        if guards.foreign(context, user.get("team_id")) is not None:
            await ack()
            await self.person(context, client, user)  # refused there, and logged once
            return
        key = f"slack:{guards.workspace(context)}:{action['action_ts']}"
        container = body.get("container", {})
        where = f"{container.get('channel_id')}:{container.get('message_ts')}"
        assert self.deps.inbox is not None and self.worker is not None
        answer = Answer(key, "", ActionId(action["action_id"][3:]), checkin_id=checkin)
        reply_to = {"url": body.get("response_url"), "at": where}
        await self.deps.inbox.put(self.edge.inbound(key, str(user.get("id")), answer, **reply_to))
        await ack()
        self.worker.wake()

    async def on_undo(
        self, ack: Any, body: dict, action: dict, client: Any, context: AsyncBoltContext
    ) -> None:
        """An outcome's Undo: recorded in the inbox before the ack, as `undo <its change>`; the
        worker applies it once and shows what it did in place of the outcome."""
        user = body.get("user") or {}
        if not action.get("action_ts") or guards.foreign(context, user.get("team_id")) is not None:
            await ack()
            await self.person(context, client, user)  # a stranger is refused there, and logged
            return
        key = f"slack:{guards.workspace(context)}:{action['action_ts']}"
        container = body.get("container", {})
        where = f"{container.get('channel_id')}:{container.get('message_ts')}"
        said = Said(key, "", f"undo {action.get('value') or ''}".strip())
        assert self.deps.inbox is not None and self.worker is not None
        reply_to = {"url": body.get("response_url"), "at": where}
        await self.deps.inbox.put(self.edge.inbound(key, str(user.get("id")), said, **reply_to))
        await ack()
        self.worker.wake()

    async def open_modal(
        self,
        client: Any,
        trigger: str,
        person: Person,
        action_id: ActionId,
        items: list[PromptItem],
        heading: str | Rich,
        meta: dict[str, Any],
        overrides: dict[str, str] | None = None,
        offered: tuple[Action, ...] = (),
    ) -> None:
        [action] = [a for a in offered if a.id is action_id] or checkins.actions_for(
            [action_id], items
        )
        await client.views_open(
            trigger_id=trigger, view=blocks.modal(action, meta, heading, overrides)
        )

    async def on_modal_action(
        self, ack: Any, body: dict, action: dict, client: Any, context: AsyncBoltContext
    ) -> None:
        await ack()
        person = await self.person(context, client, body["user"])
        if person is None:
            return
        checkin = guards.checkin_in(action.get("value"))
        if checkin is None:
            await guards.tell(client, body, guards.OUT_OF_DATE)
            return
        try:  # the modal shows the check-in's numbers: only its own person may open it
            row = await access.checkin_for(self.deps, person, checkin)
        except (NotAllowed, NotFound) as exc:
            await guards.tell(client, body, str(exc))
            return
        krs = {kr.key: kr for kr in await self.deps.directory.key_results([person.email])}
        prompt = checkins.prompt_for(row, krs)
        container = body.get("container", {})
        meta = {"c": row.id, "ch": container.get("channel_id"), "ts": container.get("message_ts")}
        await self.open_modal(
            client,
            body["trigger_id"],
            person,
            ActionId(action["action_id"][3:]),
            list(prompt.items),
            prompt.question or prompt.headline,
            meta,
            offered=prompt.actions,  # as the prompt offers it (a blocker's note filled in)
        )

    async def on_update_kr(
        self, ack: Any, body: dict, action: dict, client: Any, context: AsyncBoltContext
    ) -> None:
        await ack()
        person = await self.person(context, client, body["user"])
        if person is None:
            return
        try:  # the modal is pre-filled with the value: a read, checked like one
            kr = await access.key_result_for(self.deps, person, str(action.get("value")))
        except (NotAllowed, NotFound) as exc:
            await guards.tell(client, body, str(exc))
            return
        item = playbooks.item(kr)
        await self.open_modal(
            client,
            body["trigger_id"],
            person,
            ActionId.ADJUST,
            [item],
            f"*{kr.title}*",
            {"kr": kr.key},
        )

    async def on_flag_shortcut(
        self, ack: Any, body: dict, client: Any, context: AsyncBoltContext
    ) -> None:
        await ack()
        person = await self.person(context, client, body["user"])
        if person is None:
            await client.views_open(
                trigger_id=body["trigger_id"],
                view={
                    "type": "modal",
                    "title": {"type": "plain_text", "text": "goalnudge"},
                    "blocks": [blocks.text(ONBOARDING)],
                },
            )
            return
        link = await client.chat_getPermalink(
            channel=body["channel"]["id"], message_ts=body["message"]["ts"]
        )
        items = [playbooks.item(kr) for kr in await self.deps.directory.key_results([person.email])]
        await self.open_modal(
            client,
            body["trigger_id"],
            person,
            ActionId.FLAG_RISK,
            items,
            "Flag one of your goals at risk, with this message as the blocker.",
            {"link": link["permalink"]},
            {"note": body["message"]["text"]},
        )

    async def on_submit(
        self, ack: Any, body: dict, view: dict, client: Any, context: AsyncBoltContext
    ) -> None:
        person = await self.person(context, client, body["user"])
        if person is None:
            await ack(response_action="errors", errors={"note": ONBOARDING})
            return
        meta = json.loads(view.get("private_metadata") or "{}")
        values = blocks.read_values(view.get("state", {}))
        kind = ActionId.FLAG_RISK if view["callback_id"] == blocks.FLAG_MODAL else ActionId.ADJUST
        sure = view["callback_id"] == blocks.SURE_MODAL  # "Save anyway" on a second look
        if sure:
            meta, values = meta.get("m") or {}, (meta.get("v") or {}) | {"confirmed": "yes"}
        key = f"slack:{guards.workspace(context)}:view:{view['id']}"
        reply = from_form(
            key, person.email, kind, values, checkin_id=meta.get("c"), kr=meta.get("kr"),
            link=meta.get("link"),
        )  # fmt: skip
        outcome = await self.edge.applied(str(body["user"]["id"]), reply)
        pushed = None if sure else blocks.second_look_modal(outcome, meta, values)
        if pushed is not None:  # nothing applied: asked on top of the form, kept for an edit
            await ack(response_action="push", view=pushed)
            return
        if not outcome.ok:
            names = list(view.get("state", {}).get("values", {})) or [
                b["block_id"] for b in view.get("blocks", []) if b.get("type") == "input"
            ]
            errors = {k: v for k, v in outcome.errors.items() if k in names}
            await ack(
                response_action="errors",
                errors=errors or {(names or ["note"])[0]: str(outcome.text)},
            )
            return
        await ack(response_action="clear") if sure else await ack()  # closes the form below
        where = f"{meta['ch']}:{meta['ts']}" if meta.get("ch") and meta.get("ts") else None
        await self.after(person, where, outcome)

    async def on_details(
        self, ack: Any, body: dict, action: dict, client: Any, context: AsyncBoltContext
    ) -> None:
        """A team's drill-down, in a thread under the message: every key result (a digest's
        Details), or the team's digest (a roll-up's team button)."""
        details = action.get("action_id") == blocks.DETAILS
        await ack()
        person = await self.person(context, client, body["user"])
        if person is None:
            return
        try:
            await access.check_team(self.deps, person, str(action.get("value")))
        except (NotAllowed, NotFound) as exc:
            await guards.tell(client, body, str(exc))
            return
        composed = await digest.compose(self.deps, str(action["value"]))
        container = body.get("container", {})
        await self.channel.post(
            container["channel_id"],
            rich(f"{composed.team} {'details' if details else 'digest'}"),
            [blocks.text(blocks.details_text(composed))]
            if details
            else blocks.digest_blocks(composed),
            thread=container.get("message_ts"),
        )

    async def on_other_action(self, ack: Any, body: dict, action: dict, client: Any) -> None:
        """A button goalnudge does not (or no longer) render: a note, never an error."""
        await ack()
        if str(action.get("action_id", "")).startswith(blocks.ACTION_PREFIX):
            await guards.tell(client, body, guards.OUT_OF_DATE)

    async def reply_to(self, person: Person | None, text: str, ref: str) -> list[blocks.Block]:
        """What `/goals TEXT` (or the same words in a DM) answers."""
        if person is None:
            return [blocks.text(ONBOARDING)]
        reply = await commands.run(self.deps, person, text, f"slack:{ref}")
        if reply.digest is not None:
            return blocks.digest_blocks(reply.digest)
        if reply.goals is not None:
            return blocks.goals_blocks(person.first_name, list(reply.goals))
        return [blocks.text(reply.text)]

    async def on_goals(
        self, ack: Any, respond: Any, command: dict, client: Any, context: AsyncBoltContext
    ) -> None:
        user = {"id": command.get("user_id"), "team_id": command.get("user_team")}
        person = await self.person(context, client, user)
        text = command.get("text", "")
        if person is not None and commands.changes_state(text):
            key = f"slack:{guards.workspace(context)}:command:{command['trigger_id']}"
            said = Said(key, person.email, text)
            outcome = await self.edge.applied(str(user["id"]), said)
            line = mrkdwn(outcome.text)
            await ack(text=line, blocks=[blocks.text(line)])
            return
        reply = await self.reply_to(person, text, command["trigger_id"])
        pages = fit.messages(reply, follow="below")
        if len(pages) == 1:
            await ack(text=fallback(reply), blocks=pages[0])
            return
        # More than one message: an empty ack, then each in order through the response_url,
        # which Slack takes five times.
        await ack()
        for page in pages[: fit.RESPONSES]:
            await respond(text=fallback(page), blocks=page)

    async def on_home(self, event: dict, client: Any, context: AsyncBoltContext) -> None:
        person = await self.person(context, client, {"id": event.get("user")})
        if person is None:
            view: blocks.Block = {"type": "home", "blocks": [blocks.text(ONBOARDING)]}
        else:
            goals = await standing.of_person(self.deps, person)
            krs = {goal.kr.key: goal.kr for goal in goals}
            row = await self.deps.outbox.open_prompt(person.email)
            prompt = checkins.prompt_for(row, krs) if row and row.id else None
            view = blocks.home_view(person.first_name, goals, prompt)
            tail = f"The Home tab holds only so much: `/goals` lists all {len(krs)} key results."
            view["blocks"] = fit.view(view["blocks"], tail=tail)
        await client.views_publish(user_id=event["user"], view=view)

    async def on_message(
        self, event: dict, say: Any, client: Any, context: AsyncBoltContext
    ) -> None:
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
            return
        user = {"id": event.get("user"), "team_id": event.get("user_team")}
        person = await self.person(context, client, user)
        reply = await self.reply_to(person, event.get("text", ""), f"msg:{event.get('ts')}")
        first, *rest = fit.messages(reply)
        sent = await say(text=fallback(first), blocks=first)
        for page in rest:
            await say(text=fallback(page), blocks=page, thread_ts=sent["ts"])

    async def once_per_event(
        self, body: dict, next: Any, context: AsyncBoltContext
    ) -> BoltResponse | None:
        """Slack retries events (X-Slack-Retry-Num): an event id is handled once."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and await self.edge.typed(body, context, event_id, self.worker):
            return BoltResponse(status=200, body="")  # recorded: the worker applies and answers
        if event_id:
            first = await self.deps.ledger.apply(
                Change(f"slack-event:{guards.workspace(context)}:{event_id}", self.deps.clock.now())
            )
            if first is Applied.DUPLICATE:
                return BoltResponse(status=200, body="")
        return await next()


def fallback(page: list[blocks.Block]) -> str:
    """A message's notification text: its first block's."""
    return str(page[0].get("text", {}).get("text", "goalnudge"))[: fit.SECTION_TEXT]

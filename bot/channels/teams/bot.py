"""The Teams activity handler: parse each activity to a neutral answer or command, render cards."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler, TeamsInfo
from botbuilder.schema import Activity, AdaptiveCardInvokeResponse, Attachment
from botbuilder.schema.teams import (
    MessagingExtensionAction,
    MessagingExtensionActionResponse,
    TaskModuleContinueResponse,
    TaskModuleMessageResponse,
    TaskModuleTaskInfo,
)

from bot.channels.teams import cards
from bot.core import checkins, commands, digest
from bot.core.answers import answer
from bot.core.deps import Deps
from bot.core.model import Person
from bot.core.ports import Applied, Change, Conversations
from bot.core.prompts import ActionId, Answer, Outcome, PromptItem
from bot.core.writeback import follow_up
from bot.sender import deliver

log = logging.getLogger("goalnudge.teams")
ONBOARDING = (
    "👋 Hi! I'm goalnudge: I keep your team's goals current. I don't know you yet — "
    "ask your admin to add your email to the org file, then say `goals`."
)
FLAG_COMMAND = "flagBlocker"


def reference_of(activity: Activity) -> dict[str, Any]:
    return TurnContext.get_conversation_reference(activity).serialize()


@dataclass
class TeamsBot(TeamsActivityHandler):
    deps: Deps
    conversations: Conversations
    channel: Any  # the TeamsChannel, to send what an answer queued

    def __post_init__(self) -> None:
        super().__init__()

    async def person(self, ctx: TurnContext) -> Person | None:
        """Match the sender by AAD object id, else by roster email (then remember both)."""
        user = ctx.activity.from_property
        key = user.aad_object_id or user.id
        found = await self.deps.directory.person_by_identity("teams", key)
        if found is None:
            try:
                member = await TeamsInfo.get_member(ctx, user.id)
            except Exception:
                log.warning("Teams roster lookup failed", exc_info=True)
                return None
            email = member.email or member.user_principal_name or ""
            found = await self.deps.directory.person(email) if email else None
            if found is None:
                return None
            await self.deps.directory.link_identity(found.email, "teams", key)
        if ctx.activity.conversation.conversation_type == "personal":
            await self.conversations.save(
                "teams", key, reference_of(ctx.activity), self.deps.clock.now()
            )
        return await self.deps.directory.person(found.email)

    async def first_time(self, ctx: TurnContext) -> bool:
        """A replayed activity id applies nothing twice."""
        result = await self.deps.ledger.apply(
            Change(f"teams-activity:{ctx.activity.id}", self.deps.clock.now())
        )
        return result is Applied.APPLIED

    async def on_installation_update_add(self, ctx: TurnContext) -> None:
        await self.remember_install(ctx)

    async def on_conversation_update_activity(self, ctx: TurnContext) -> None:
        bot_id = ctx.activity.recipient.id
        if any(m.id == bot_id for m in ctx.activity.members_added or []):
            await self.remember_install(ctx)

    async def remember_install(self, ctx: TurnContext) -> None:
        conversation = ctx.activity.conversation
        if conversation.conversation_type == "personal":
            person = await self.person(ctx)
            text = (
                f"Hi {person.first_name}! I'll check in on your goals. Say `help` any time."
                if person
                else ONBOARDING
            )
            await ctx.send_activity(text)
            return
        # A team install: remember the channel so digests can start new threads there.
        team = (ctx.activity.channel_data or {}).get("team", {})
        ref = reference_of(ctx.activity)
        for key in filter(None, (conversation.id.split(";")[0], team.get("name"))):
            await self.conversations.save("teams", key, ref, self.deps.clock.now())

    async def on_message_activity(self, ctx: TurnContext) -> None:
        if not await self.first_time(ctx):
            return
        person = await self.person(ctx)
        if ctx.activity.value and not ctx.activity.text:
            outcome = await self.apply(ctx, person, dict(ctx.activity.value))
            if outcome is not None:
                updated = MessageFactory.attachment(
                    Attachment(content_type=cards.CONTENT_TYPE, content=cards.outcome_card(outcome))
                )
                updated.id = ctx.activity.reply_to_id
                await ctx.update_activity(updated)
            return
        if person is None:
            await ctx.send_activity(ONBOARDING)
            return
        text = TurnContext.remove_recipient_mention(ctx.activity) or ctx.activity.text or ""
        reply = await commands.run(self.deps, person, text, f"teams:{ctx.activity.id}")
        if reply.digest is not None:
            await ctx.send_activity(self.attachment(cards.digest_card(reply.digest)))
        elif reply.goals is not None:
            lines = [f"**{kr.title}** — {digest.describe_value(kr)}" for kr in reply.goals]
            await ctx.send_activity("\n\n".join(lines) or "You have no key results yet.")
        else:
            await ctx.send_activity(reply.text.replace("*", "**"))

    @staticmethod
    def attachment(card: cards.Card) -> Activity:
        return MessageFactory.attachment(Attachment(content_type=cards.CONTENT_TYPE, content=card))

    async def apply(
        self, ctx: TurnContext, person: Person | None, data: dict[str, Any]
    ) -> Outcome | None:
        """A card button or form: the answer it stands for, applied once."""
        if person is None:
            return Outcome(False, ONBOARDING)
        verb = str(data.pop("verb", ""))
        if verb == cards.DETAILS:
            composed = await digest.compose(self.deps, str(data.get("team")))
            await ctx.send_activity(
                cards.plain(
                    "\n\n".join(
                        f"**{line.title}** — {line.owner}: {line.value}" for line in composed.lines
                    )
                )
            )
            return None
        checkin = data.pop("c", None)
        outcome = await answer(
            self.deps,
            Answer(
                f"teams:{ctx.activity.id}",
                person.email,
                ActionId(verb),
                checkin_id=checkin,
                kr=data.pop("kr", None) or None,
                note=data.pop("note", None),
                confidence=data.pop("confidence", None) or None,
                link=data.pop("link", None),
                write_back=data.pop("write_back", "") == "yes",
                values={k: str(v) for k, v in data.items()},
            ),
        )
        if outcome.ok and not outcome.duplicate:
            await deliver(self.deps, self.channel)
            card = f"{ctx.activity.conversation.id}|{ctx.activity.reply_to_id or ''}"
            follow_up(self.deps, outcome, lambda final: self.channel.replace(person, card, final))
        return outcome

    async def on_adaptive_card_invoke(
        self, ctx: TurnContext, invoke_value: Any
    ) -> AdaptiveCardInvokeResponse:
        action = invoke_value.action  # a dict in botbuilder 4.17, not a model
        verb = action.get("verb") if isinstance(action, dict) else action.verb
        payload = action.get("data") if isinstance(action, dict) else action.data
        data = {**(payload or {}), "verb": verb}
        person = await self.person(ctx)
        outcome = await self.apply(ctx, person, dict(data))
        if outcome is None:
            outcome = Outcome(True, "Details posted below.")
        if outcome.errors and data.get("c") is not None:
            row = await self.deps.outbox.get(int(data["c"]))
            if row is not None:
                shown = cards.prompt_card(
                    checkins.prompt_for(row),
                    errors=outcome.errors,
                    values={k: str(v) for k, v in data.items()},
                )
                return AdaptiveCardInvokeResponse(
                    status_code=200, type=cards.CONTENT_TYPE, value=shown
                )
        return AdaptiveCardInvokeResponse(
            status_code=200, type=cards.CONTENT_TYPE, value=cards.outcome_card(outcome)
        )

    async def on_teams_messaging_extension_fetch_task(
        self, ctx: TurnContext, action: MessagingExtensionAction
    ) -> MessagingExtensionActionResponse:
        person = await self.person(ctx)
        if person is None:
            return MessagingExtensionActionResponse(
                task=TaskModuleMessageResponse(value=ONBOARDING)
            )
        payload = action.message_payload
        note = cards.plain(strip_html(payload.body.content if payload and payload.body else ""))
        items = [
            PromptItem(kr.key, kr.title, kr.unit, kr.current, kr.target)
            for kr in await self.deps.directory.key_results([person.email])
        ]
        [flag] = checkins.actions_for([ActionId.FLAG_RISK.value], items)
        task = TaskModuleTaskInfo(
            title="Flag as blocker",
            height="medium",
            width="medium",
            card=CardFactory.adaptive_card(
                cards.flag_task(flag, payload.link_to_message if payload else None, note)
            ),
        )
        return MessagingExtensionActionResponse(task=TaskModuleContinueResponse(value=task))

    async def on_teams_messaging_extension_submit_action(
        self, ctx: TurnContext, action: MessagingExtensionAction
    ) -> MessagingExtensionActionResponse:
        person = await self.person(ctx)
        data = {**(action.data or {}), "verb": ActionId.FLAG_RISK.value}
        outcome = await self.apply(ctx, person, data)
        text = outcome.text if outcome else ""
        if outcome is not None and outcome.ok:
            await ctx.send_activity(cards.plain(text))
        return MessagingExtensionActionResponse(
            task=TaskModuleMessageResponse(value=cards.plain(text))
        )


def strip_html(html: str) -> str:
    import re
    from html import unescape

    return unescape(re.sub(r"<[^>]+>", "", html)).strip()

"""The Teams activity handler: parse each activity to a neutral answer or command, render cards."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import Activity, AdaptiveCardInvokeResponse, Attachment, InvokeResponse
from botbuilder.schema.teams import (
    MessagingExtensionAction,
    MessagingExtensionActionResponse,
    TaskModuleContinueResponse,
    TaskModuleMessageResponse,
    TaskModuleTaskInfo,
)

from bot import logs
from bot.channels.console import plain
from bot.channels.teams import PLATFORM, cards, fit, payloads
from bot.channels.teams.edge import TeamsEdge, card_of
from bot.channels.teams.identity import Identities, event_key, reference_of
from bot.channels.teams.markdown import markdown
from bot.core import access, checkins, commands, digest, playbooks
from bot.core import digest_words as words
from bot.core.channel import SendQueued
from bot.core.deps import Deps
from bot.core.errors import IntegrationError, NotAllowed, NotFound
from bot.core.model import Person
from bot.core.ports import Applied, Change, Conversations
from bot.core.prompts import ActionId, Outcome, Said, from_form
from bot.core.rich import Rich, of, rich

log = logging.getLogger("goalnudge.teams")
ONBOARDING = (
    "👋 Hi! I'm goalnudge: I keep your team's goals current. I don't know you yet — "
    "ask your admin to add your email to the org file, then say `goals`."
)
FLAG_COMMAND = "flagBlocker"
VALUED_INVOKES = ("adaptiveCard/", "composeExtension/", "task/")


@dataclass
class TeamsBot(TeamsActivityHandler):
    deps: Deps
    conversations: Conversations
    channel: Any  # the TeamsChannel: the person's own chat
    send_queued: SendQueued  # what an answer queued, through each person's platform
    tenant: str | None = None  # TEAMS_APP_TENANT_ID: the organisation's own tenant
    timeout: float = 10.0  # each call to the connector (roster lookups too)

    def __post_init__(self) -> None:
        super().__init__()
        self.identities = Identities(self.deps, self.conversations, self.tenant, self.timeout)
        self.bad_cards = logs.Throttled(log)
        # What changes state goes through the edge.
        self.edge = TeamsEdge(self.deps, self.channel, self.send_queued)

    async def person(self, ctx: TurnContext) -> Person | None:
        return await self.identities.person(ctx)

    async def first_time(self, ctx: TurnContext) -> bool:
        """A replayed activity (same id in the same conversation) applies nothing twice."""
        result = await self.deps.ledger.apply(
            Change(event_key(ctx.activity) + ":seen", self.deps.clock.now())
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
            await self.came_back(ctx, person)
            text = (
                f"Hi {person.first_name}! I'll check in on your goals. Say `help` any time."
                if person
                else ONBOARDING
            )
            await ctx.send_activity(text)
            return
        # A team install: remember the channel so digests can start new threads there.
        if not await self.identities.same_tenant(ctx.activity):
            return
        team = (ctx.activity.channel_data or {}).get("team", {})
        ref = reference_of(ctx.activity)
        for key in filter(None, (conversation.id.split(";")[0], team.get("name"))):
            await self.conversations.save("teams", key, ref, self.deps.clock.now())

    async def came_back(self, ctx: TurnContext, person: Person | None) -> None:
        """Someone Teams refused wrote to the bot or installed it again in their own chat:
        post to them again."""
        if person is None or ctx.activity.conversation.conversation_type != "personal":
            return
        if await self.channel.refusals.clear(person.ids.get(PLATFORM)):
            log.info("Teams: %s is reachable again", person.ids.get(PLATFORM))

    async def on_message_activity(self, ctx: TurnContext) -> None:
        submitted = bool(ctx.activity.value and not ctx.activity.text)
        text = TurnContext.remove_recipient_mention(ctx.activity) or ctx.activity.text or ""
        changes = submitted or commands.changes_state(text)
        # A replay of what changes state finds its inbox row; a read is checked here.
        if not changes and not await self.first_time(ctx):
            return
        person = await self.person(ctx)
        await self.came_back(ctx, person)
        if submitted:
            outcome = await self.apply(ctx, person, ctx.activity.value)
            if outcome is not None and not outcome.duplicate:
                shown = cards.outcome_card(outcome)
                if outcome.second_look and isinstance(ctx.activity.value, dict):
                    given = ctx.activity.value
                    shown = cards.second_look(shown, str(given.get("verb")), given)
                updated = self.attachment(shown)
                updated.id = ctx.activity.reply_to_id
                await ctx.update_activity(updated)
            return
        if person is None:
            await ctx.send_activity(ONBOARDING)
            return
        if changes:
            outcome = await self.edge.apply(ctx.activity, Said(event_key(ctx.activity), "", text))
            if not outcome.duplicate:
                await ctx.send_activity(markdown(outcome.text))
            return
        reply = await commands.run(self.deps, person, text, event_key(ctx.activity))
        if reply.digest is not None:
            for card in fit.cards(cards.digest_card(reply.digest)):
                await ctx.send_activity(self.attachment(card))
        elif reply.goals is not None:
            lines = [markdown(words.goal(goal)) for goal in reply.goals]
            for text in fit.texts("\n\n".join(lines) or "You have no key results yet."):
                await ctx.send_activity(text)
        else:
            await ctx.send_activity(markdown(reply.text))

    @staticmethod
    def attachment(card: cards.Card) -> Activity:
        return MessageFactory.attachment(Attachment(content_type=cards.CONTENT_TYPE, content=card))

    def parse(self, ctx: TurnContext, data: Any) -> payloads.CardData | None:
        """The card's data, or None (logged at most once a minute per sender) if not ours."""
        try:
            return payloads.parse(data)
        except payloads.BadPayload as exc:
            user = ctx.activity.from_property
            source = (user.aad_object_id or user.id) if user else "-"
            self.bad_cards.warning(f"{source}:card", "Teams card refused from %s: %s", source, exc)
            return None

    async def details(
        self, ctx: TurnContext, person: Person, team: str, *, whole: bool = False
    ) -> Outcome | None:
        """A team's drill-down, for those who may read it (its manager, above, leaders): every
        key result, or (`whole`, from the roll-up) the team's digest."""
        if not await self.first_time(ctx):  # a replay posts it no second time
            return None
        try:
            await access.check_team(self.deps, person, team)
        except (NotAllowed, NotFound) as exc:
            return Outcome(False, of(exc))
        composed = await digest.compose(self.deps, team)
        if whole:
            await ctx.send_activity(self.attachment(cards.digest_card(composed)))
            return None
        lines = [f"**{s.kr.title}** — {s.owner}: {s.value}, {s.status}" for s in composed.lines]
        await ctx.send_activity("\n\n".join(lines))
        return None

    async def apply(self, ctx: TurnContext, person: Person | None, data: Any) -> Outcome | None:
        """A card button or form: the answer it stands for, applied once."""
        if person is None:
            return Outcome(False, rich(ONBOARDING))
        parsed = self.parse(ctx, data)
        if parsed is None:
            return Outcome(False, rich(payloads.NOT_OURS))
        given = parsed.text
        if parsed.verb in (cards.DETAILS, cards.TEAM_DIGEST):
            whole = parsed.verb == cards.TEAM_DIGEST
            return await self.details(ctx, person, given.get("team", ""), whole=whole)
        fields = {k: v for k, v in given.items() if k != "team"} | parsed.values
        reply = from_form(
            event_key(ctx.activity),
            person.email,
            ActionId(parsed.verb),
            fields,
            checkin_id=parsed.checkin,
        )
        outcome = await self.edge.apply(ctx.activity, reply)
        await self.edge.after(person, card_of(ctx.activity), outcome)
        return outcome

    async def on_invoke_activity(self, ctx: TurnContext) -> InvokeResponse | None:
        """Teams' invokes all carry a value; one without is answered 400 before dispatch (the
        library's handlers would fail on it)."""
        name = ctx.activity.name or ""
        if ctx.activity.value is None and name.startswith(VALUED_INVOKES):
            user = ctx.activity.from_property
            source = (user.aad_object_id or user.id) if user else "-"
            self.bad_cards.warning(f"{source}:invoke", "Teams %s without a value refused", name)
            return InvokeResponse(status=400, body={"error": f"{name} needs a value"})
        return await super().on_invoke_activity(ctx)

    async def on_adaptive_card_invoke(
        self, ctx: TurnContext, invoke_value: Any
    ) -> AdaptiveCardInvokeResponse:
        action = invoke_value.action  # a dict in botbuilder 4.17, not a model
        verb = action.get("verb") if isinstance(action, dict) else action.verb
        payload = action.get("data") if isinstance(action, dict) else action.data
        data = {**payload, "verb": verb} if isinstance(payload, dict) else payload
        person = await self.person(ctx)
        outcome = await self.apply(ctx, person, data)
        if outcome is None:
            outcome = Outcome(True, rich("Details posted below."))
        parsed = payloads.parse(data) if outcome.errors else None  # errors: it parsed
        if parsed is not None and parsed.checkin is not None and person is not None:
            row = await self.deps.outbox.get(parsed.checkin)
            if row is not None and row.person == person.email:
                shown = cards.prompt_card(
                    checkins.prompt_for(row),
                    errors=outcome.errors,
                    values=parsed.values | parsed.text,
                )
                if outcome.second_look and isinstance(data, dict):
                    shown = cards.second_look(shown, str(verb), data, outcome.text)
                return AdaptiveCardInvokeResponse(
                    status_code=200, type=cards.CONTENT_TYPE, value=shown
                )
        card = cards.outcome_card(outcome)
        if outcome.second_look and isinstance(data, dict):
            card = cards.second_look(card, str(verb), data)
        return AdaptiveCardInvokeResponse(status_code=200, type=cards.CONTENT_TYPE, value=card)

    async def on_teams_messaging_extension_fetch_task(
        self, ctx: TurnContext, action: MessagingExtensionAction
    ) -> MessagingExtensionActionResponse:
        person = await self.person(ctx)
        if person is None:
            return MessagingExtensionActionResponse(
                task=TaskModuleMessageResponse(value=ONBOARDING)
            )
        payload = action.message_payload
        note = strip_html(payload.body.content if payload and payload.body else "")
        items = [playbooks.item(kr) for kr in await self.deps.directory.key_results([person.email])]
        [flag] = checkins.actions_for([ActionId.FLAG_RISK], items)
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
        given = action.data if isinstance(action.data, dict) else {}
        data = {**given, "verb": ActionId.FLAG_RISK.value}
        outcome = await self.apply(ctx, person, data)
        text = outcome.text if outcome else rich()
        if outcome is not None and outcome.ok and not outcome.duplicate and person is not None:
            await self.tell(person, text)
        # A dialog's message is plain text: no markdown is read there.
        return MessagingExtensionActionResponse(task=TaskModuleMessageResponse(value=plain(text)))

    async def tell(self, person: Person, text: Rich) -> None:
        """In the person's own chat with the bot, never in the chat the message came from (its
        other members would see it); the dialog shows it too, should that chat be gone."""
        try:
            await self.channel.notify(person, text)
        except IntegrationError as exc:
            log.warning("Teams: a flag's confirmation was not posted: %s", exc)


def strip_html(html: str) -> str:
    import re
    from html import unescape

    return unescape(re.sub(r"<[^>]+>", "", html)).strip()

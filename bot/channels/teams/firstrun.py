"""Before the org file is imported: every Teams interaction is answered with the admin's step."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from botbuilder.core import TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    InvokeResponse,
)
from botbuilder.schema.teams import MessagingExtensionActionResponse, TaskModuleMessageResponse

from bot.channels.console import plain
from bot.channels.teams import cards
from bot.channels.teams.bot import TeamsBot
from bot.channels.teams.markdown import markdown
from bot.core import firstrun
from bot.core.prompts import Outcome
from bot.core.rich import Rich
from bot.logs import Throttled

log = logging.getLogger("goalnudge.teams")
told = Throttled(log)
Turn = Callable[[TurnContext], Awaitable[None]]


def invoke_body(name: str, line: Rich) -> object | None:
    """What an invoke goalnudge answers shows instead of its card or dialog."""
    if name == "adaptiveCard/action":
        card = cards.outcome_card(Outcome(False, line))
        return AdaptiveCardInvokeResponse(status_code=200, type=cards.CONTENT_TYPE, value=card)
    if name in ("composeExtension/fetchTask", "composeExtension/submitAction"):
        # A dialog's message is plain text: no markdown is read there.
        return MessagingExtensionActionResponse(task=TaskModuleMessageResponse(value=plain(line)))
    return None  # an invoke goalnudge does not offer: the adapter answers 501 as ever


def addressed(activity: Activity) -> bool:
    """A message, a card submit, or goalnudge being installed: what gets the line in the chat."""
    if activity.type == ActivityTypes.message:
        return True
    if activity.type == ActivityTypes.installation_update:
        return activity.action in ("add", "add-upgrade")
    bot = activity.recipient.id if activity.recipient else None
    added = activity.members_added or []
    return activity.type == ActivityTypes.conversation_update and any(m.id == bot for m in added)


def guarded(bot: TeamsBot) -> Turn:
    """The bot's turn, unless the organisation is not imported: then nothing reaches the bot
    (it would fail on it), the person is told the admin's step, and nothing is logged as an
    error."""

    async def turn(ctx: TurnContext) -> None:
        line = await firstrun.missing(bot.deps.directory)
        if line is None:
            await bot.on_turn(ctx)
            return
        told.warning("not set up", "Teams activity answered with: %s", line)
        activity = ctx.activity
        if activity.type == ActivityTypes.invoke:
            body = invoke_body(activity.name or "", line)
            if body is not None:
                answer = InvokeResponse(status=200, body=body)
                await ctx.send_activity(Activity(type=ActivityTypes.invoke_response, value=answer))
        elif addressed(activity):
            await ctx.send_activity(markdown(line))

    return turn

"""Before the first org import: the one line every chat answers with, naming the admin's step."""

from __future__ import annotations

from bot.core.errors import ConfigError, NotSetUp
from bot.core.ports import Directory
from bot.core.rich import Rich, code, of, rich

IMPORT = "goalnudge org import FILE.yaml"
SEE = "(see README → The org file)"


def not_set_up(slug: str | None = None) -> Rich:
    """What to do when no organisation exists yet, or (`slug`) when organisation `slug` exists
    but has nobody in it (a chat workspace installed before its org file was imported)."""
    if slug is None:
        return rich("goalnudge isn't set up yet: an admin must run ", code(IMPORT), f" {SEE}.")
    return rich(
        f"goalnudge isn't set up yet: organisation {slug} has no people. An admin must run ",
        code(f"GOALNUDGE_ORG={slug} {IMPORT}"),
        f" {SEE}.",
    )


async def missing(directory: Directory) -> Rich | None:
    """The line to answer every interaction with while the organisation is not usable, else
    None (once it has people, that is remembered: no query per interaction)."""
    try:
        if await directory.staffed():
            return None
        return not_set_up((await directory.organisation()).slug)
    except NotSetUp:
        return not_set_up()
    except ConfigError as exc:  # several organisations and no GOALNUDGE_ORG: its own step
        return of(exc)

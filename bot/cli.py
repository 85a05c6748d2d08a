"""The `goalnudge` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import logs
from bot.app import for_sending, open_shared, wire
from bot.channels.console import ConsoleChannel
from bot.chat import Chat
from bot.config import Settings, load_settings
from bot.core import checkins
from bot.core.delivery import chase, deliver
from bot.core.errors import ConfigError, DatabaseUnavailable, GoalnudgeError, OrgFileError
from bot.core.ports import CrmSource, TrackerSource
from bot.core.sources import SourceRole
from bot.core.sync import sync_all
from bot.orgfile import dump, load_file
from bot.server import post_digest
from integrations import registry
from storage import SecretBox, Store, open_store, upgrade
from storage.secrets import new_key
from storage.secrets import rotate as rotate_secrets


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="goalnudge", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("serve", help="run the HTTP server (Slack events, health) and send check-ins")
    demo = sub.add_parser("demo", help="play one working week of the sample organisation")
    demo.add_argument(
        "--db",
        type=Path,
        default=Path("goalnudge-demo.db"),
        help="SQLite file to create afresh (default: goalnudge-demo.db)",
    )
    for role, default in ((SourceRole.CRM, "salesforce"), (SourceRole.TRACKER, "jira")):
        choices = [k.name for k in registry.kinds().values() if k.role is role]
        demo.add_argument(
            f"--{role}", choices=choices, default=default, help=f"the {role} the demo reads"
        )
    chat = sub.add_parser("chat", help="talk to the bot in the terminal as a person")
    chat.add_argument("--as", dest="email", required=True, metavar="EMAIL")
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="migrate DATABASE_URL to the latest schema")
    org = sub.add_parser("org", help="the org file").add_subparsers(dest="action", required=True)
    imp = org.add_parser("import", help="load or update the organisation from a YAML file")
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--new-org",
        action="store_true",
        help="the file is a further organisation beside the database's (then every command "
        "needs GOALNUDGE_ORG)",
    )
    exp = org.add_parser("export", help="write the organisation as YAML")
    exp.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    ci = sub.add_parser("checkin", help="check-ins").add_subparsers(dest="action", required=True)
    run = ci.add_parser("run", help="plan, send and chase check-ins due now")
    run.add_argument("--now", action="store_true", help="ask now, whatever the schedule says")
    run.add_argument("--person", metavar="EMAIL", help="only this person")
    dg = sub.add_parser("digest", help="digests").add_subparsers(dest="action", required=True)
    post = dg.add_parser("post", help="post a team's digest")
    post.add_argument("--team", required=True)
    sync = sub.add_parser("sync", help="read the CRM and/or tracker now")
    sync.add_argument("system", nargs="?", choices=["crm", "tracker"])
    secrets = sub.add_parser("secrets", help="the key that encrypts stored tokens")
    keys = secrets.add_subparsers(dest="action", required=True)
    keys.add_parser("key", help="print a new key for GOALNUDGE_SECRET_KEY")
    keys.add_parser("rotate", help="encrypt every stored token again with the first key")
    return p


def out(line: str) -> None:
    print(line, flush=True)


async def run_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "demo":
        from bot.demo import run_demo

        for leftover in (args.db, *(args.db.with_name(args.db.name + s) for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
        real = registry.sources(settings.model_copy(update={"goalnudge_sample_data": None}))
        url = f"sqlite+aiosqlite:///{args.db}"
        configured: dict[str, CrmSource | TrackerSource] = {**real.crms, **real.trackers}
        return await run_demo(url, out, configured, crm=args.crm, tracker=args.tracker)
    if args.command == "serve":
        from bot.server import serve

        return await serve(settings)
    if args.command == "db":
        await upgrade(settings.database_url)
        out(f"Database is at the latest schema: {safe_url(settings.database_url)}")
        return 0
    if args.command == "org" and args.action == "import":
        return await import_org(args.file, settings, new_org=args.new_org)
    if args.command == "secrets":
        return await rotate(settings)
    sending = args.command in ("checkin", "digest")
    chat = sending and bool(settings.slack_bot_token or settings.teams_app_id)
    async with open_shared(settings, channels=chat) as shared:
        app, outbound = await for_sending(shared) if sending else (wire(shared), None)
        deps = app.deps
        if args.command == "org":
            text = dump(await app.store.directory.export_chart())
            if args.output:
                args.output.write_text(text, encoding="utf-8")
                out(f"Wrote {args.output}")
            else:
                sys.stdout.write(text)
            return 0
        if args.command == "chat":
            me = await deps.directory.person(args.email)
            if me is None:
                out(
                    f"goalnudge: no one with email {args.email} in this organisation "
                    "(check the spelling, or add them to the org file and import it)"
                )
                return 1
            await Chat(deps, me, read_line, out).run()
            return 0
        if args.command == "sync":
            failed = False
            role = SourceRole(args.system) if args.system else None
            for report in await sync_all(deps, role):
                usage = (
                    f", API usage {report.usage[0]:,}/{report.usage[1]:,}" if report.usage else ""
                )
                out(f"{report.source}: {report.calls} API call(s){usage}")
                for who, kr, value in report.readings:
                    out(f"  {who} — {kr}: {value}")
                for error in report.errors:
                    out(f"  error: {error}")
                failed |= not report.ok
            return 1 if failed else 0
        channel = outbound or ConsoleChannel(out, deps.clock)
        if args.command == "checkin":
            if args.person and await deps.directory.person(args.person) is None:
                out(f"goalnudge: no one with email {args.person} in this organisation")
                return 1
            await sync_all(deps)
            people = [args.person.lower()] if args.person else None
            result = await checkins.plan(deps, people=people, force=args.now)
            sent = await deliver(deps, channel)
            moved = await chase(deps, channel)
            out(
                f"Planned {len(result.planned)}, skipped {len(result.skipped)}, "
                f"nothing new for {len(result.quiet)}, sent {len(sent.sent)}, "
                f"reminded {len(moved.reminded)}, expired {len(moved.expired)}."
            )
            return 0
        await post_digest(deps, channel, args.team)
        return 0


async def import_org(file: Path, settings: Settings, *, new_org: bool = False) -> int:
    loaded = load_file(file)
    for warning in loaded.warnings:
        out(warning)
    await upgrade(settings.database_url)
    named = loaded.chart.organisation.slug
    slug = settings.goalnudge_org or named
    store = open_store(settings.database_url, slug)
    try:
        if slug != named:
            await must_exist(store, named)
            out(f"Importing into organisation {slug} (GOALNUDGE_ORG), not the file's {named}.")
        elif not new_org and (others := await store.scope.slugs()) and named not in others:
            raise ConfigError(
                f"{file}: this file is organisation {named}, and the database holds "
                f"{', '.join(sorted(others))}. To update {others[0]} from it, set "
                f"GOALNUDGE_ORG={others[0]}; to add {named} as a further organisation, run "
                "`goalnudge org import --new-org` (every command then needs GOALNUDGE_ORG). "
                "Nothing was imported."
            )
        report = await store.directory.import_chart(loaded.chart)
    finally:
        await store.close()
    if not report.changed:
        out(f"{file}: already up to date — nothing changed.")
        return 0
    out(f"{file}: {len(report.created)} created, {len(report.updated)} updated.")
    for line in report.updated:
        out(f"  updated {line}")
    return 0


async def must_exist(store: Store, named: str) -> None:
    """GOALNUDGE_ORG names an organisation made elsewhere (a Slack workspace's install)."""
    try:
        await store.directory.organisation()
    except ConfigError:
        raise ConfigError(
            f"GOALNUDGE_ORG: there is no organisation {store.scope.slug} in the database (a "
            f"Slack workspace becomes one when it installs goalnudge); unset GOALNUDGE_ORG to "
            f"import the file as {named}"
        ) from None


async def rotate(settings: Settings) -> int:
    box = SecretBox.from_setting(settings.goalnudge_secret_key)
    if box is None:
        raise ConfigError("GOALNUDGE_SECRET_KEY: not set; there is no key to rotate to")
    async with open_shared(settings, channels=False) as shared:
        count = await rotate_secrets(shared.store.scope.sessions, box)
    out(
        f"Re-encrypted {count} stored token(s) with the first key of GOALNUDGE_SECRET_KEY; "
        "the other keys can now be removed."
    )
    return 0


def read_line(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None


def safe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        creds, host = rest.rsplit("@", 1)
        rest = f"{creds.split(':')[0]}:***@{host}" if ":" in creds else rest
    return f"{scheme}{sep}{rest}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "secrets" and args.action == "key":
        out(new_key())  # needs no settings: it is how a missing key is made
        return 0
    logs.setup(level="WARNING")
    try:
        settings = load_settings()
        logs.setup(settings.secrets(), settings.goalnudge_log_level, settings.goalnudge_log_format)
        return asyncio.run(run_command(args, settings))
    except OrgFileError as exc:
        count = len(exc.problems)
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(
            f"goalnudge: the org file has {count} problem{'s' * (count != 1)}; "
            "nothing was imported.",
            file=sys.stderr,
        )
        return 2
    except DatabaseUnavailable as exc:  # exit 1, not 2: waiting for the database may help
        print(f"goalnudge: {exc}", file=sys.stderr)
        return 1
    except GoalnudgeError as exc:
        print(f"goalnudge: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

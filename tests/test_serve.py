"""`goalnudge serve` as a real process: HTTP mode, Socket Mode, health, clean shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import slack_requests as sr
from fakes.slack_api import FakeSlack

from bot.demo import SAMPLE_ORG

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_env(url: str, **extra: str) -> dict[str, str]:
    """This machine's environment without goalnudge or Slack settings, plus `extra`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "GOALNUDGE_"))}
    return clean | {"PYTHONPATH": str(ROOT), "DATABASE_URL": url, "HOST": "127.0.0.1"} | extra


async def spawn(env: dict[str, str], log: Path, cwd: Path) -> asyncio.subprocess.Process:
    """`goalnudge serve` on the env's PORT (else a free one), its output appended to `log`."""
    with log.open("a") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            cwd=cwd,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            env={"PORT": str(free_port())} | env,
        )


async def started(link: str, process: asyncio.subprocess.Process) -> int:
    """Wait until the server at `link` answers /healthz; its last status (0: none).

    Start-up imports Bolt and botbuilder: seconds on a busy machine, so wait for the process to
    listen (a minute at most) rather than for a fixed number of tries."""
    status = 0
    async with aiohttp.ClientSession() as http:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.returncode is None:
            try:
                async with http.get(f"{link}/healthz") as response:
                    status = response.status
                    if status == 200:
                        break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    return status


@asynccontextmanager
async def serve(tmp_path: Path, **env: str) -> AsyncIterator[Callable[[str], str]]:
    """Run `goalnudge serve` until the block ends; yields a function making its URLs."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}"
    base = serve_env(url, GOALNUDGE_TICK_SECONDS="0")
    subprocess.run(
        [sys.executable, "-m", "bot", "org", "import", str(SAMPLE_ORG)],
        env=base,
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        env=base | env | {"PORT": str(port)},
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    link = f"http://127.0.0.1:{port}"
    try:
        await started(link, process)
        yield lambda path: f"{link}{path}"
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 0, output.decode()


async def test_http_mode_serves_health_and_refuses_unsigned_slack_requests(tmp_path: Path) -> None:
    async with (
        FakeSlack() as fake,
        serve(
            tmp_path,
            SLACK_BOT_TOKEN="xoxb-t",
            SLACK_SIGNING_SECRET="s3cret",
            SLACK_API_URL=fake.url,
        ) as url,
        aiohttp.ClientSession() as http,
    ):
        fake.add_user("UALICE", "alice@acme.example")
        async with http.get(url("/healthz")) as health:
            assert (health.status, await health.json()) == (200, {"status": "ok"})
        body, headers = sr.slash_command("UALICE", "/goals", "help", secret="not-the-secret")
        async with http.post(url("/slack/events"), data=body, headers=headers) as forged:
            assert forged.status == 401
        body, headers = sr.slash_command("UALICE", "/goals", "help", secret="s3cret")
        async with http.post(url("/slack/events"), data=body, headers=headers) as signed:
            assert signed.status == 200
            assert "snooze until YYYY-MM-DD" in await signed.text()


async def test_socket_mode_needs_no_public_url(tmp_path: Path) -> None:
    async with (
        FakeSlack() as fake,
        serve(
            tmp_path, SLACK_BOT_TOKEN="xoxb-t", SLACK_APP_TOKEN="xapp-t", SLACK_API_URL=fake.url
        ) as url,
        aiohttp.ClientSession() as http,
    ):
        fake.add_user("UALICE", "alice@acme.example")
        payload = {
            "command": "/goals",
            "text": "",
            "user_id": "UALICE",
            "team_id": "T1",
            "channel_id": "D1",
            "trigger_id": "trig-9",
            "api_app_id": "A1",
            "response_url": "https://hooks.slack.com/commands/1",
        }
        ack = await fake.push("slash_commands", payload, "env-1")
        assert "Close $600k in New ARR (Alice)" in str(ack["payload"])
        [opened] = fake.called("apps.connections.open")
        assert opened.token == "xapp-t"
        async with http.post(url("/slack/events"), data="{}") as closed:
            assert closed.status == 404  # no signing secret: nothing to verify HTTP with


async def test_a_refused_bot_token_stops_serve_with_one_line(tmp_path: Path) -> None:
    async with FakeSlack() as fake:
        fake.fail("auth.test", "invalid_auth")
        url = f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}"
        env = serve_env(
            url,
            SLACK_BOT_TOKEN="xoxb-bad",
            SLACK_SIGNING_SECRET="s",
            SLACK_API_URL=fake.url,
            PORT=str(free_port()),
        )
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "db", "upgrade"],
            env=env,
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )
        run = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(run.communicate(), 30)
    assert run.returncode == 2
    assert err.decode().strip().splitlines()[-1] == (
        "goalnudge: SLACK_BOT_TOKEN: Slack refused it (invalid_auth)"
    )

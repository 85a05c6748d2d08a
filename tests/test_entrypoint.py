"""The container: docker/entrypoint.sh run for real with `sh`, on SQLite and a real PostgreSQL;
and what can be checked of the Dockerfile and docker-compose.yml without a Docker engine."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import yaml
from container_files import (
    compose_defaults,
    copy_sources,
    exec_form,
    ignored,
    instructions,
    stages,
)
from pgserver import PostgresServer
from test_serve import free_port, serve_env

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
DOCKERFILE = ROOT / "Dockerfile"
NOT_MIGRATED = "goalnudge: the database is not at the latest schema: run `goalnudge db upgrade`"
ENTRYPOINT_VARIABLES = {"GOALNUDGE_MIGRATE_ON_START", "GOALNUDGE_DB_WAIT_SECONDS"}


def entrypoint_env(url: str, **extra: str) -> dict[str, str]:
    """serve_env, with this venv's `goalnudge` first on PATH as the image's venv is."""
    env = serve_env(url, **extra)
    return env | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}


def run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def healthcheck() -> list[str]:
    """The image's HEALTHCHECK command, run with this interpreter."""
    [final] = stages(DOCKERFILE.read_text())[-1:]
    args = final.last("HEALTHCHECK") or ""
    command = exec_form(args[args.index("CMD ") + 4 :])
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


async def until_healthy(link: str, process: asyncio.subprocess.Process) -> bool:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if process.returncode is not None:
                return False
            with suppress(aiohttp.ClientConnectionError):
                async with http.get(f"{link}/healthz") as response:
                    if response.status == 200:
                        return True
            await asyncio.sleep(0.1)
    return False


@asynccontextmanager
async def served(env: dict[str, str], cwd: Path) -> AsyncIterator[tuple[str, list[str]]]:
    """`entrypoint.sh serve` until /healthz answers; yields its URL and, at the end, its output.

    Leaving the block sends SIGTERM (what `docker stop` sends) and asserts a clean exit."""
    process = await asyncio.create_subprocess_exec(
        "sh",
        str(ENTRYPOINT),
        "serve",
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    link = f"http://127.0.0.1:{env['PORT']}"
    healthy = False
    try:
        healthy = await until_healthy(link, process)
    finally:
        if not healthy:
            with suppress(ProcessLookupError):
                process.kill()
            out, _ = await process.communicate()
            raise AssertionError(f"serve never answered /healthz:\n{out.decode()}")
    output: list[str] = []
    try:
        yield link, output
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(process.communicate(), 30)
        output.append(out.decode())
    assert process.returncode == 0, output[0]


async def get(url: str) -> tuple[int, object]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.json()


# --- the entrypoint, for real


async def test_serve_migrates_an_empty_database_then_is_healthy_and_ready(
    db_url: str, tmp_path: Path
) -> None:
    env = entrypoint_env(db_url, GOALNUDGE_TICK_SECONDS="0", PORT=str(free_port()))
    async with served(env, tmp_path) as (link, output):
        assert await get(f"{link}/healthz") == (200, {"status": "ok"})
        setup = "goalnudge isn't set up yet: an admin must run `goalnudge org import FILE.yaml`"
        assert await get(f"{link}/readyz") == (
            200,
            {
                "status": "ready",
                "checks": {"database": "ok", "migrations": "ok"},
                "setup": f"{setup} (see README → The org file).",  # nothing imported yet
            },
        )
        check = await asyncio.to_thread(
            subprocess.run, healthcheck(), env=env, capture_output=True, timeout=30
        )
        assert check.returncode == 0, check.stderr
    assert "Database is at the latest schema" in output[0]
    down = subprocess.run(healthcheck(), env=env, capture_output=True, timeout=30)
    assert down.returncode != 0  # Docker counts this as a failed check


async def test_serve_waits_for_a_database_that_comes_up_late(
    pg_server: PostgresServer, tmp_path: Path
) -> None:
    url = urlsplit(pg_server.create_database("late"))
    port = free_port()
    env = entrypoint_env(
        url._replace(netloc=f"{url.username}@127.0.0.1:{port}").geturl(),
        GOALNUDGE_TICK_SECONDS="0",
        PORT=str(free_port()),
    )

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    refused: list[float] = []  # the database "comes up" 2 s after it first refused someone

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not refused or time.monotonic() - refused[0] < 2:
            refused.append(time.monotonic())
            writer.close()  # not up yet: however slowly the entrypoint starts, it meets this
            return
        upstream = await asyncio.open_connection("127.0.0.1", pg_server.port)
        await asyncio.gather(pipe(reader, upstream[1]), pipe(upstream[0], writer))

    late = await asyncio.start_server(forward, "127.0.0.1", port)
    try:
        async with served(env, tmp_path) as (link, output):
            assert (await get(f"{link}/readyz"))[0] == 200
    finally:
        late.close()
    waited = "goalnudge: waiting for the database: `goalnudge db upgrade` failed (attempt 1, "
    assert waited in output[0]
    assert "Database is at the latest schema" in output[0]


def test_serve_without_migrating_refuses_an_empty_database(db_url: str, tmp_path: Path) -> None:
    env = entrypoint_env(db_url, GOALNUDGE_MIGRATE_ON_START="0", PORT=str(free_port()))
    result = run(tmp_path, env, "serve")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == NOT_MIGRATED


def test_db_upgrade_passes_through_and_can_run_twice(db_url: str, tmp_path: Path) -> None:
    env = entrypoint_env(db_url)
    for _ in range(2):
        result = run(tmp_path, env, "db", "upgrade")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("Database is at the latest schema: ")
        assert "waiting" not in result.stderr


def test_instances_started_together_on_postgresql_migrate_one_after_another(
    pg_server: PostgresServer, tmp_path: Path
) -> None:
    env = entrypoint_env(pg_server.create_database("together"))
    upgrades = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "db", "upgrade"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [(p.wait(120), *p.communicate()) for p in upgrades]
    assert [code for code, _, _ in results] == [0, 0, 0, 0], [err for _, _, err in results]
    assert all(out.startswith("Database is at the latest schema: ") for _, out, _ in results)


def test_an_unreachable_database_fails_in_seconds_with_one_line(tmp_path: Path) -> None:
    closed = f"postgresql+asyncpg://goalnudge@127.0.0.1:{free_port()}/goalnudge"
    env = entrypoint_env(closed, GOALNUDGE_DB_WAIT_SECONDS="2", PORT=str(free_port()))
    started = time.monotonic()
    result = run(tmp_path, env, "serve")
    assert time.monotonic() - started < 15
    assert result.returncode == 1
    *waits, last = result.stderr.strip().splitlines()
    assert last.startswith("goalnudge: could not migrate the database within 2s (")
    assert "cannot reach the database (DATABASE_URL): [Errno 111] Connect call failed" in last
    assert all(w.startswith("goalnudge: waiting for the database") for w in waits)
    assert "Traceback" not in result.stderr


def test_a_configuration_mistake_is_not_waited_for(tmp_path: Path) -> None:
    env = entrypoint_env("mysql://goalnudge@db/goalnudge", PORT=str(free_port()))
    result = run(tmp_path, env, "serve")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "goalnudge: DATABASE_URL: unsupported database 'mysql' (use sqlite or postgresql)"
    ]


# --- the files Docker reads, checked without Docker


def test_the_dockerfile_builds_a_slim_non_root_image_that_serves() -> None:
    text = DOCKERFILE.read_text()
    build, final = stages(text)
    assert (build.base, final.base) == ("python:3.11-slim", "python:3.11-slim")
    assert "[dev]" not in text
    assert not any(tool in text for tool in ("build-essential", "gcc", "apt-get install"))
    user = (final.last("USER") or "root").split(":")[0]
    assert user not in ("root", "0")
    assert final.last("WORKDIR") == "/app"
    assert final.last("EXPOSE") == "3978"
    assert exec_form(final.last("ENTRYPOINT") or "") == ["/app/docker/entrypoint.sh"]
    assert exec_form(final.last("CMD") or "") == ["serve"]
    assert "/healthz" in (final.last("HEALTHCHECK") or "")
    copied = {copy_sources(a)[1]: copy_sources(a)[0] for a in final.all("COPY")}
    assert copied["/app/docker/entrypoint.sh"] == ["docker/entrypoint.sh"]
    assert os.access(ENTRYPOINT, os.X_OK)


def test_every_file_the_dockerfile_copies_is_in_the_build_context() -> None:
    for keyword, args in instructions(DOCKERFILE.read_text()):
        if keyword not in ("COPY", "ADD"):
            continue
        sources, _, flags = copy_sources(args)
        if "from" in flags:
            continue
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
            assert not ignored(source, ROOT / ".dockerignore"), f".dockerignore drops {source}"
    for secret in (".env", ".venv", "config/org.yaml", "goalnudge.db"):
        assert ignored(secret, ROOT / ".dockerignore"), secret


def test_compose_runs_the_bot_on_the_healthy_postgres_service() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    db, bot = services["db"], services["bot"]
    assert db["image"] == "postgres:15"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert bot["build"] == "."
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert "3978:3978" in bot["ports"]
    assert bot["env_file"] == [{"path": ".env", "required": False}]
    url = urlsplit(compose_defaults(bot["environment"]["DATABASE_URL"]))
    postgres = {k: compose_defaults(v) for k, v in db["environment"].items()}
    assert (url.hostname, url.port) == ("db", 5432)
    assert (url.username, url.password, url.path) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        "/" + postgres["POSTGRES_DB"],
    )
    assert Settings(database_url=url.geturl()).database_url.startswith("postgresql+asyncpg://")
    assert "/" not in bot["environment"].get("GOALNUDGE_ORG", "")  # a slug, never a file
    assert all(volume.endswith(":ro") for volume in bot["volumes"])


def test_env_example_names_only_real_settings() -> None:
    known = set(Settings.model_fields) | {v.lower() for v in ENTRYPOINT_VARIABLES}
    names = [
        line.lstrip("#").partition("=")[0].strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if re.fullmatch(r"#?[A-Z_]+=.*", line)
    ]
    assert len(names) > 20
    assert [n for n in names if n.lower() not in known and not n.startswith("POSTGRES_")] == []


def test_env_example_as_it_stands_is_a_valid_configuration() -> None:
    settings = Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    assert not (settings.slack_bot_token or settings.teams_app_id or settings.jira_url)
    assert all(variable in ENTRYPOINT.read_text() for variable in ENTRYPOINT_VARIABLES)

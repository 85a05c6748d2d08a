"""Throwaway PostgreSQL cluster for the storage tests, built from the machine's server binaries.

Usage from conftest.py::

    @pytest.fixture(scope="session")
    def pg_server() -> Iterator[PostgresServer]:
        with PostgresServer() as server:
            yield server

    url = pg_server.create_database("goalnudge_test")  # postgresql+asyncpg://...
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

__all__ = ["PostgresServer", "find_pg_bin"]

NOT_FOUND = (
    "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
    "(install postgresql-15, or set PG_BIN): the PostgreSQL storage tests need a real server"
)
REQUIRED = ("initdb", "pg_ctl", "psql")
SERVER_USER = "postgres"
DB_USER = "goalnudge"
HOST = "127.0.0.1"
START_ATTEMPTS = 3
TIMEOUT = 120


def _has_binaries(directory: str) -> bool:
    return all(os.access(os.path.join(directory, name), os.X_OK) for name in REQUIRED)


def _version_key(directory: str) -> tuple[int, ...]:
    version = Path(directory).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def find_pg_bin() -> str:
    """Return the directory holding initdb, pg_ctl and psql, or raise RuntimeError."""
    explicit = os.environ.get("PG_BIN")
    if explicit:
        if _has_binaries(explicit):
            return explicit
        raise RuntimeError(f"PG_BIN={explicit} does not contain {', '.join(REQUIRED)}")
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for candidate in candidates:
        if _has_binaries(candidate):
            return candidate
    raise RuntimeError(NOT_FOUND)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _clean_env() -> dict[str, str]:
    # Stray PGHOST/PGSSLMODE/PGOPTIONS etc. from the caller must not redirect these commands.
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresServer:
    """A PostgreSQL cluster in a temp dir, trusted user ``goalnudge``, listening on 127.0.0.1."""

    def __init__(self, bin_dir: str | None = None) -> None:
        self.bin_dir = bin_dir or find_pg_bin()
        self.port: int | None = None
        self.base_dir: Path | None = None
        self._as_root = hasattr(os, "geteuid") and os.geteuid() == 0
        self._running = False

    @property
    def data_dir(self) -> Path:
        return self._base() / "data"

    @property
    def log_file(self) -> Path:
        return self._base() / "server.log"

    def _base(self) -> Path:
        if self.base_dir is None:
            raise RuntimeError("PostgresServer has not been started")
        return self.base_dir

    def _bin(self, name: str) -> str:
        return os.path.join(self.bin_dir, name)

    def _server_cmd(self, *args: str) -> list[str]:
        # initdb and pg_ctl refuse to run as root.
        if self._as_root:
            return ["runuser", "-u", SERVER_USER, "--", *args]
        return list(args)

    def _run(self, cmd: list[str]) -> subprocess.CompletedProcess[str]:
        # cwd inside the temp dir: as the postgres user, the caller's cwd may be unreadable.
        return subprocess.run(
            cmd,
            cwd=self._base(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
            env=_clean_env(),
        )

    def _make_base_dir(self) -> Path:
        base = Path(tempfile.mkdtemp(prefix="goalnudge-pg-"))
        if not self._as_root:
            return base
        shutil.chown(base, user=SERVER_USER, group=SERVER_USER)
        check = subprocess.run(
            ["runuser", "-u", SERVER_USER, "--", "test", "-w", str(base), "-a", "-x", str(base)],
            capture_output=True,
            check=False,
        )
        if check.returncode == 0:
            return base
        # TMPDIR may sit under a root-only directory; /tmp is always traversable.
        shutil.rmtree(base, ignore_errors=True)
        base = Path(tempfile.mkdtemp(prefix="goalnudge-pg-", dir="/tmp"))
        shutil.chown(base, user=SERVER_USER, group=SERVER_USER)
        return base

    def start(self) -> PostgresServer:
        if self._running:
            return self
        self.base_dir = self._make_base_dir()
        try:
            self._initdb()
            self._start_server()
        except BaseException:
            self._remove_base_dir()
            raise
        return self

    def _initdb(self) -> None:
        result = self._run(
            self._server_cmd(
                self._bin("initdb"),
                "-D",
                str(self.data_dir),
                "-A",
                "trust",
                "-U",
                DB_USER,
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            )
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"initdb failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
            )

    def _start_server(self) -> None:
        sock_dir = self._base()
        failure = ""
        # The port is only reserved until the probe socket closes, so another process may win it.
        for _ in range(START_ATTEMPTS):
            port = _free_port()
            options = (
                f"-p {port} -k {sock_dir} -c listen_addresses={HOST} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            result = self._run(
                self._server_cmd(
                    self._bin("pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-w",
                    "-o",
                    options,
                    "-l",
                    str(self.log_file),
                    "start",
                )
            )
            if result.returncode == 0:
                self.port = port
                self._running = True
                return
            failure = f"{result.stdout}\n{result.stderr}".strip()
            self._pg_ctl_stop()
        raise RuntimeError(
            f"PostgreSQL failed to start after {START_ATTEMPTS} attempts: {failure}\n"
            f"--- tail of {self.log_file} ---\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError as exc:
            return f"(no server log: {exc})"
        return "\n".join(text.splitlines()[-lines:])

    def _pg_ctl_stop(self) -> None:
        if self.base_dir is None or not (self.data_dir / "postmaster.pid").exists():
            return
        self._run(
            self._server_cmd(
                self._bin("pg_ctl"), "-D", str(self.data_dir), "-w", "-m", "immediate", "stop"
            )
        )

    def _remove_base_dir(self) -> None:
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None

    def stop(self) -> None:
        try:
            self._pg_ctl_stop()
        finally:
            self._running = False
            self.port = None
            self._remove_base_dir()

    def url(self, dbname: str = "postgres") -> str:
        if not self._running or self.port is None:
            raise RuntimeError("PostgresServer is not running")
        return f"postgresql+asyncpg://{DB_USER}@{HOST}:{self.port}/{quote(dbname, safe='')}"

    def create_database(self, name: str) -> str:
        if not self._running or self.port is None:
            raise RuntimeError("PostgresServer is not running")
        result = subprocess.run(
            [
                self._bin("psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                HOST,
                "-p",
                str(self.port),
                "-U",
                DB_USER,
                "-d",
                "postgres",
                "-c",
                f"CREATE DATABASE {_quote_ident(name)}",
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
            env=_clean_env(),
        )
        if result.returncode != 0:
            raise RuntimeError(f"CREATE DATABASE {name} failed: {result.stderr.strip()}")
        return self.url(name)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

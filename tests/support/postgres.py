"""A throwaway PostgreSQL 15 server for the test session, and a fresh database per test.

The server runs from the machine's own binaries in a temporary folder, on
127.0.0.1 at a free port, its socket in that folder, so that several test
sessions on one machine never meet. ``pg_ctl`` refuses to run as root: as root
it runs as the ``postgres`` user. On CI (``CI=true``) a missing PostgreSQL
fails the PostgreSQL variants; elsewhere they skip with one line.

Registered as a pytest plugin in ``tests/conftest.py``; the fixtures are
``postgres_server`` (session), ``postgres_url`` (a new empty database) and
``database``, parametrized over both backends (a SQLite file or a URL).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

PG_BIN = Path(os.environ.get("KINAPSE_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"
TEST_DATABASE = "kinapse_tests"
START_ATTEMPTS = 3  # a free port can be taken between finding it and listening on it
# Durability is worthless in a throwaway server; these make it start and write fast.
FAST_SETTINGS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
)


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgresServer:
    folder: Path
    port: int
    as_user: list[str]
    _numbers = itertools.count(1)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    async def create_database(self) -> str:
        """A new, empty store; its URL.

        A schema of its own in the session's test database, named in the URL's
        search_path: as isolated as a database of its own for Kinapse, and made
        in milliseconds where CREATE DATABASE takes a quarter of a second.
        """
        name = f"test_{next(self._numbers)}"
        admin = await asyncpg.connect(self.url(TEST_DATABASE))
        try:
            await admin.execute(f'CREATE SCHEMA "{name}"')
        finally:
            await admin.close()
        return f"{self.url(TEST_DATABASE)}?search_path={name}"

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.as_user, str(PG_BIN / "pg_ctl"), "-D", str(self.folder / "data"), *args],
            capture_output=True,
            text=True,
            check=False,
        )


def start_server() -> PostgresServer:
    folder = Path(tempfile.mkdtemp(prefix="kinapse-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        record = pwd.getpwnam(PG_USER)
        os.chown(folder, record.pw_uid, record.pw_gid)
        as_user = ["runuser", "-u", PG_USER, "--"]
    initdb = subprocess.run(
        [
            *as_user,
            str(PG_BIN / "initdb"),
            "-D",
            str(folder / "data"),
            "-U",
            PG_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if initdb.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {initdb.stderr.strip()}")
    for _ in range(START_ATTEMPTS):
        server = PostgresServer(folder, free_port(), as_user)
        options = (
            f"-p {server.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={folder} {FAST_SETTINGS}"
        )
        started = server.pg_ctl("-o", options, "-l", str(folder / "log"), "-w", "start")
        if started.returncode == 0:
            createdb = [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(server.port)]
            created = subprocess.run(
                [*createdb, "-U", PG_USER, TEST_DATABASE],
                capture_output=True,
                text=True,
                check=False,
            )
            if created.returncode == 0:
                return server
            server.pg_ctl("-m", "immediate", "stop")
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"createdb failed: {created.stderr.strip()}")
    log = (folder / "log").read_text(errors="replace")[-2000:] if (folder / "log").exists() else ""
    shutil.rmtree(folder, ignore_errors=True)
    raise RuntimeError(f"PostgreSQL did not start: {started.stderr.strip()} {log}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | str]:
    """The session's server, or why there is none (a str)."""
    if not (PG_BIN / "pg_ctl").exists():
        yield f"PostgreSQL 15 not found in {PG_BIN}: PostgreSQL variants skipped"
        return
    try:
        server = start_server()
    except (RuntimeError, OSError, KeyError) as exc:
        yield f"PostgreSQL could not start ({exc}): PostgreSQL variants skipped"
        return
    try:
        yield server
    finally:
        server.pg_ctl("-m", "immediate", "stop")  # a throwaway: nothing to flush
        shutil.rmtree(server.folder, ignore_errors=True)


def require(server: PostgresServer | str) -> PostgresServer:
    """The server, or the test skips (fails on CI) saying why there is none."""
    if isinstance(server, str):
        if on_ci():
            pytest.fail(f"CI=true needs PostgreSQL: {server}")
        pytest.skip(server)
    return server


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer | str) -> str:
    """A fresh, empty database on the session's server."""
    return await require(postgres_server).create_database()


BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """A fresh, empty database of each backend: a SQLite file, or a PostgreSQL URL."""
    if backend == "sqlite":
        return tmp_path / "kinapse.db"
    return await require(request.getfixturevalue("postgres_server")).create_database()

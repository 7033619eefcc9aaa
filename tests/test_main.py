"""``python -m bot`` as a user runs it: clear lines and exit codes, no secrets."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN",)}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_a_token_it_says_so_and_exits_2(tmp_path: Path):
    result = run(KINAPSE_DATABASE=str(tmp_path / "k.db"), DISCORD_TOKEN="")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "DISCORD_TOKEN is not set" in lines[0] and "python -m bot preview" in lines[0]


def test_a_malformed_setting_is_named_without_its_value(tmp_path: Path):
    result = run(DISCORD_TOKEN="sekrit-token-value", KINAPSE_DAILY_TOKEN_BUDGET="lots")
    assert result.returncode == 2
    assert "KINAPSE_DAILY_TOKEN_BUDGET" in result.stderr
    assert "lots" not in result.stderr and "sekrit" not in result.stderr


# -- files and folders the bot cannot start with: one line, exit 2, no hang ----------

STARTING_COMMANDS = [
    ("preview",),
    ("run",),
    ("maps", "export", "Interest Rates", "--scope", "1"),
]


def _one_error_line(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The one ``Error:`` line (the bot's own log lines may come before it)."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("Error: ")]
    assert errors == lines[-1:], result.stderr
    for needle in needles:
        assert needle in errors[0]
    return errors[0]


@pytest.mark.parametrize("command", STARTING_COMMANDS, ids=lambda c: c[0])
def test_a_file_that_is_not_sqlite_is_named_and_nothing_hangs(tmp_path: Path, command):
    database = tmp_path / "kinapse.db"
    database.write_bytes(b"these are not the bytes of a database\n" * 200)
    result = run(*command, KINAPSE_DATABASE=str(database), DISCORD_TOKEN="token")
    _one_error_line(result, str(database), "not a usable SQLite database")


def test_a_truncated_database_is_named(tmp_path: Path):
    database = tmp_path / "kinapse.db"
    sqlite3.connect(database).executescript(
        "CREATE TABLE t (x); INSERT INTO t VALUES (randomblob(100000));"
    )
    database.write_bytes(database.read_bytes()[:20_000])
    result = run("maps", "export", "Interest Rates", "--scope", "1", KINAPSE_DATABASE=str(database))
    _one_error_line(result, str(database), "not a usable SQLite database")


def test_a_database_folder_that_cannot_be_made_is_named(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run("preview", KINAPSE_DATABASE=str(blocker / "data" / "kinapse.db"))
    _one_error_line(result, str(blocker), "cannot open the database folder or file")


def test_a_missing_maps_folder_is_named(tmp_path: Path):
    missing = tmp_path / "no-maps"
    result = run("maps", "export", "Interest Rates", KINAPSE_MAPS_DIR=str(missing))
    _one_error_line(result, str(missing), "bundled maps folder does not exist")


@pytest.mark.parametrize(
    ("broken", "needle"),
    [
        (None, "no prompt named 'map'"),
        ("Map {topic} {", "map.md"),
    ],
)
def test_a_missing_or_broken_prompt_is_named(tmp_path: Path, broken: str | None, needle: str):
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", prompts)
    if broken is None:
        (prompts / "map.md").unlink()
    else:
        (prompts / "map.md").write_text(broken)
    result = run(
        "preview",
        KINAPSE_DATABASE=str(tmp_path / "k.db"),
        KINAPSE_PROMPTS_DIR=str(prompts),
        ANTHROPIC_API_KEY="sk-ant-test-key-value",
        # Never reached: the prompts are checked before any call. Loopback all the same.
        ANTHROPIC_BASE_URL="http://127.0.0.1:9",
    )
    line = _one_error_line(result, needle)
    assert "sk-ant-test" not in result.stderr + result.stdout, line


def test_the_preview_console_shows_the_url_line_only(tmp_path: Path):
    """A newcomer's console: the URL line on start, nothing they cannot act on, then a
    clean stop (SIGTERM, as a service manager or Ctrl-C's terminal would end it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KINAPSE_", "ANTHROPIC_"))}
    env.update(KINAPSE_DATABASE=str(tmp_path / "preview.db"), ANTHROPIC_API_KEY="")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "preview"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # printed once the bot is up and the page served
        assert first.startswith("Kinapse preview: open http://127.0.0.1:"), first
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0
    assert out == "" and err == "", (out, err)


@pytest.mark.parametrize("name", ["its path", "a hard link"])
def test_a_second_bot_on_the_same_sqlite_file_refuses_to_start(tmp_path: Path, name: str):
    held = database = tmp_path / "k.db"
    if name == "a hard link":
        sqlite3.connect(held).close()
        database = tmp_path / "linked.db"
        database.hardlink_to(held)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_DATABASE, str(held)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        result = run(KINAPSE_DATABASE=str(database), DISCORD_TOKEN="not-a-real-token")
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(database) in lines[0] and "in use by another Kinapse process" in lines[0]
    assert "postgresql://" in lines[0]


# The bot's own way of holding its database, for the life of a process.
HOLD_DATABASE = """
import asyncio, sys
from bot.storage import open_storage

async def main():
    async with open_storage(sys.argv[1], exclusive=True):
        print("holding", flush=True)
        await asyncio.sleep(60)

asyncio.run(main())
"""


def test_db_copy_refuses_a_missing_source_and_a_non_empty_target(tmp_path: Path):
    missing = run("db", "copy", str(tmp_path / "none.db"), str(tmp_path / "new.db"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"Error: no database at {tmp_path / 'none.db'}"

    source, target = tmp_path / "a.db", tmp_path / "b.db"
    for path in (source, target):
        hold = subprocess.run(
            [sys.executable, "-c", STORE_META, str(path)], cwd=ROOT, check=True, timeout=60
        )
        assert hold.returncode == 0
    refused = run("db", "copy", str(source), str(target))
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert lines == [f"Error: {target} is not empty (meta has rows); copy into a new database"]


STORE_META = """
import asyncio, sys
from bot.storage import open_storage

async def main():
    async with open_storage(sys.argv[1]) as storage:
        await storage.set_meta("made", "by a test")

asyncio.run(main())
"""


def test_maps_export_offers_every_format():
    result = run("maps", "export", "blockchain", "--format", "mermaid")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('mindmap\n  root(("Blockchain"))\n')
    bad = run("maps", "export", "blockchain", "--format", "pdf")
    assert bad.returncode == 2
    assert "'markdown', 'mermaid', 'opml', 'json', 'html'" in bad.stderr

"""Every script under bench/ runs with its smallest settings, so none can rot: a smoke
run that asserts it completes and prints its figures (their values are not judged here;
benches are run on purpose, on a quiet machine)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.config import PROJECT_ROOT

BENCH = PROJECT_ROOT / "bench"
# Each bench with its smallest settings, and a line its output must have.
SMOKE = {
    "clicks.py": (["--rounds", "2", "--scale-rounds", "2", "--scales", "10,50"], "ratio"),
    "forget.py": (["--rounds", "1", "--sessions", "10"], "forget: median"),
    "pictures.py": (["--rounds", "1"], "renders"),
    "storage.py": (
        ["--maps", "10", "--interactions", "20", "--concurrency", "2"],
        "interactions/s",
    ),
    "streaming.py": (
        ["--rounds", "1", "--rate", "100000", "--first-token", "0.1", "--edit-latency", "0"],
        "ratio first/whole",
    ),
}


def test_every_bench_has_a_smoke_run() -> None:
    assert {path.name for path in BENCH.glob("*.py")} == set(SMOKE)


@pytest.fixture(scope="module")
def runs() -> dict[str, subprocess.CompletedProcess[str]]:
    """Every bench at once (each pays for importing the bot; they mostly wait)."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    started = {
        name: subprocess.Popen(
            [sys.executable, str(BENCH / name), *args],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (args, _) in SMOKE.items()
    }
    done = {}
    for name, process in started.items():
        out, err = process.communicate(timeout=240)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    return done


@pytest.mark.parametrize("name", sorted(SMOKE))
def test_bench_runs_to_the_end(name: str, runs: dict[str, subprocess.CompletedProcess[str]]):
    run = runs[name]
    assert run.returncode == 0, run.stderr[-3000:]
    assert SMOKE[name][1] in run.stdout, run.stdout[-3000:]

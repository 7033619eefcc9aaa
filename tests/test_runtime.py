"""The bot's lifetimes: the startup check of the key and model, and what logs may say."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT, Settings
from bot.errors import NoGenerator
from bot.runtime import RedactCredentials, open_explorer, setup_logging
from tests.support.standin import StandIn, error


def _settings(standin: StandIn, tmp_path: Path, **overrides) -> Settings:
    return standin.settings(
        database=tmp_path / "kinapse.db", maps_dir=PROJECT_ROOT / "maps", **overrides
    )


async def test_a_working_key_and_model_keep_generation_on(standin: StandIn, tmp_path: Path):
    async with open_explorer(_settings(standin, tmp_path)) as explorer:
        assert explorer.generator is not None
        await explorer.topics.check_can_generate(
            1, 2, "Photosynthesis"
        )  # nothing stands in the way


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (error(401, "authentication_error", "invalid x-api-key"), "API key was rejected"),
        (error(403, "permission_error", "not allowed"), "API key was rejected"),
        (
            error(404, "not_found_error", "model: nope"),
            "claude-sonnet-4-6 (KINAPSE_MODEL) is unknown",
        ),
    ],
)
async def test_a_rejected_key_or_unknown_model_turns_generation_off_and_says_why(
    standin: StandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture, reply, reason: str
):
    standin.model_reply = reply
    with caplog.at_level(logging.ERROR, logger="bot.runtime"):
        async with open_explorer(_settings(standin, tmp_path)) as explorer:
            assert explorer.generator is None
            with pytest.raises(NoGenerator) as raised:
                await explorer.topics.check_can_generate(1, 2, "Photosynthesis")
    assert reason in raised.value.detail and "New topics can't be mapped" in str(raised.value)
    assert any(reason in r.getMessage() for r in caplog.records)
    assert not standin.requests  # no generation was tried


async def test_an_unreachable_api_only_warns(
    standin: StandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    settings = _settings(standin, tmp_path, anthropic_base_url="http://127.0.0.1:9")
    with caplog.at_level(logging.WARNING, logger="bot.generator"):
        async with open_explorer(settings) as explorer:
            assert explorer.generator is not None
    assert any("Could not reach the Anthropic API" in r.getMessage() for r in caplog.records)


def test_credentials_in_urls_never_reach_the_log() -> None:
    record = logging.LogRecord(
        "httpx",
        logging.WARNING,
        __file__,
        1,
        "Proxy %s failed",
        ("http://bob:hunter2@proxy:3128",),
        None,
    )
    assert RedactCredentials().filter(record)
    assert record.getMessage() == "Proxy http://***@proxy:3128 failed"


def test_credentials_in_a_logged_exception_never_reach_the_log() -> None:
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactCredentials())
    log = logging.getLogger("kinapse-test-redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise OSError("connect to postgresql://kinapse:hunter2@db.internal/kinapse failed")
        except OSError:
            log.exception("Could not reach the database")
    finally:
        log.removeHandler(handler)
    text = written.getvalue()
    assert "hunter2" not in text
    assert "OSError: connect to postgresql://***@db.internal/kinapse failed" in text
    assert "Traceback (most recent call last)" in text  # the traceback is still there


def test_http_client_request_lines_stay_below_info(tmp_path: Path) -> None:
    setup_logging(Settings(database=tmp_path / "k.db", log_level="DEBUG"))
    for name in ("httpx", "httpcore", "anthropic"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name


def test_the_sdk_is_imported_only_when_a_key_is_set() -> None:
    """The anthropic SDK is most of the bot's import time: without a key it is never loaded."""
    probe = (
        "import sys, bot.ui.client, bot.runtime, bot.preview, bot.explore, bot.ui.cog\n"
        "print('anthropic' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "False", result.stderr

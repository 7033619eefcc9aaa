"""The bot's lifetimes: logging, storage, bundled maps and the generator.

Shared by ``python -m bot`` and the offline preview, so both build the bot
from the same parts in the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

from bot.config import Settings
from bot.explore import NO_KEY, Explorer
from bot.explore.clock import DatabaseClock, shared_clock
from bot.generator import Generator
from bot.maps import BundledMaps
from bot.prompts import load_prompts
from bot.storage import open_storage

log = logging.getLogger(__name__)


# HTTP client libraries log every request line, proxy URLs with their user and password
# included: they never speak below WARNING, whatever the bot's own level.
QUIET_LOGGERS = ("httpx", "httpcore", "anthropic", "aiohttp.access", "urllib3")
_CREDENTIALS_IN_URL = re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+@")


class RedactCredentials(logging.Filter):
    """Replaces ``user:password@`` in any URL of a log line with ``***@``: in the message,
    and in the traceback logged with it (an exception's text may hold the URL it failed on)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _CREDENTIALS_IN_URL.sub("***@", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatted here as the handler would, once: formatters reuse exc_text.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _CREDENTIALS_IN_URL.sub("***@", record.exc_text)
        if record.stack_info:
            record.stack_info = _CREDENTIALS_IN_URL.sub("***@", record.stack_info)
        return True


def setup_logging(settings: Settings, *, preview: bool = False) -> None:
    """Log to the console at the configured level.

    The preview's console belongs to a newcomer: unless KINAPSE_LOG_LEVEL is
    set, it shows only real problems, below the URL line. discord.py's warnings
    there (voice libraries, the intents SimCord's probe client lacks) concern
    the simulated Discord, so only its errors show.
    """
    level = settings.log_level_number
    discord_level = max(level, logging.WARNING)
    if preview and "log_level" not in settings.model_fields_set:
        level = max(level, logging.WARNING)
        discord_level = logging.ERROR
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactCredentials())
    # discord.py's gateway chatter is noise at INFO.
    logging.getLogger("discord").setLevel(discord_level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


@contextlib.asynccontextmanager
async def open_generator(settings: Settings) -> AsyncIterator[tuple[Generator | None, str]]:
    """The Anthropic generator when a key is set and works, else None with the reason why
    (bundled and stored maps only).

    One cheap API call checks the key and the model at startup: a rejected key or
    an unknown model turns generation off; a network problem only warns.
    """
    if settings.anthropic_api_key is None:
        # A mode, not a fault: the preview and a curated-maps-only bot run this way.
        log.info("ANTHROPIC_API_KEY is not set: serving bundled and stored maps only")
        yield None, NO_KEY
        return
    from bot.generator import AnthropicGenerator

    generator = AnthropicGenerator(settings, load_prompts(settings.prompts_dir))
    try:
        problem = await generator.check()
        if problem is not None:
            log.error("Generation is off: %s. Serving bundled and stored maps only.", problem)
            yield None, problem
        else:
            yield generator, ""
    finally:
        await generator.aclose()


@contextlib.asynccontextmanager
async def open_explorer(settings: Settings) -> AsyncIterator[Explorer]:
    """Storage, bundled maps and generator, each owned for the life of the block.

    Storage first: a database that cannot be used stops the start before anything else,
    and so does a clock too far from the database's (``bot.explore.clock``): the times
    shared with other processes are told by the database's clock.
    """
    async with open_storage(
        settings.database, pool_size=settings.database_pool_size, exclusive=True
    ) as storage:
        clock = await shared_clock(storage)
        bundled = BundledMaps.load(settings.maps_dir)
        async with open_generator(settings) as (generator, off_reason):
            explorer = Explorer(
                storage,
                bundled,
                settings,
                generator,
                clock=clock,
                generation_off=off_reason or NO_KEY,
            )
            background = [asyncio.create_task(explorer.upkeep.keep_tidy(), name="kinapse-upkeep")]
            if isinstance(clock, DatabaseClock):
                background.append(asyncio.create_task(clock.keep_in_step(), name="kinapse-clock"))
            try:
                yield explorer
            finally:
                for task in background:
                    task.cancel()
                for task in background:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await explorer.aclose()


@contextlib.contextmanager
def stop_on_signals(stop: Callable[[], Awaitable[object]]) -> Iterator[None]:
    """Call ``stop`` on SIGTERM, so a service manager's stop shuts down cleanly."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[object]] = set()

    def on_signal() -> None:
        log.info("Stopping on SIGTERM")
        task = asyncio.ensure_future(stop())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    try:
        loop.add_signal_handler(signal.SIGTERM, on_signal)
    except (NotImplementedError, RuntimeError):  # not on this platform or thread
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGTERM)

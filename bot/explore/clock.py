"""The time every process sharing a database agrees on: the database's.

Reservations, usage, cooldowns, leases, refusals and deadlines are stamped by one
process and read by others. A process whose clock runs a day ahead would stamp them a
day ahead, and a correct one would then refuse members for a day; so a bot on
PostgreSQL tells the time by the server's clock (``now()``), and refuses to start when
its own clock is more than ``CLOCK_TOLERANCE`` away from it (something is wrong with
the machine, and its logs and Discord's timestamps would be too).

Asking the server on every reading would cost a round trip on every press: the
server's time is read at start and every ``CLOCK_CHECK`` seconds, and carried forward
in between by this process's monotonic clock (which no one sets, and which drifts by
milliseconds a day). A SQLite database has one process (its file is locked), whose
clock is the database's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bot.errors import StartupError
from bot.storage import Storage

log = logging.getLogger(__name__)

CLOCK_TOLERANCE = 60.0  # seconds the local clock may differ from the database's
CLOCK_CHECK = 600.0  # seconds between readings of the database's clock


class ClockSkew(StartupError):
    """The local clock and the database's differ by more than ``CLOCK_TOLERANCE``."""


class DatabaseClock:
    """Seconds since the epoch on the database server's clock, read without a round trip.

    ``local`` is this machine's clock (compared, never used for the time), ``steady`` a
    monotonic one that carries the last reading forward."""

    def __init__(
        self,
        storage: Storage,
        *,
        local: Callable[[], float] = time.time,
        steady: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.storage = storage
        self._local = local
        self._steady = steady
        self._offset: float | None = None  # database time minus steady time
        self.skew = 0.0  # the local clock minus the database's, at the last reading

    def __call__(self) -> float:
        assert self._offset is not None, "read the database's clock first"
        return self._offset + self._steady()

    async def read(self) -> float:
        """Read the database's clock (halfway through the round trip); the local clock's
        difference from it, in seconds."""
        before = self._steady()
        local_before = self._local()
        server = await self.storage.database_time()
        after = self._steady()
        assert server is not None
        half = (after - before) / 2
        self._offset = server - (before + half)
        self.skew = local_before + half - server
        return self.skew

    async def start(self) -> None:
        """The first reading; ``ClockSkew`` when the clocks are too far apart to start."""
        skew = await self.read()
        if abs(skew) > CLOCK_TOLERANCE:
            raise ClockSkew(
                f"this machine's clock ({_utc(self._local())}) is {abs(skew):,.0f} s "
                f"{'ahead of' if skew > 0 else 'behind'} the database's "
                f"({_utc(self())}) at {self.storage.where}: more than "
                f"{CLOCK_TOLERANCE:.0f} s, so limits and leases shared with other processes "
                "would be wrong; set the clock right (NTP) and start again"
            )

    async def keep_in_step(self) -> None:
        """Read the database's clock again every ``CLOCK_CHECK`` seconds, for as long as
        the bot runs; a local clock that wandered off since the start is logged (the
        bot keeps the database's time whatever it does)."""
        while True:
            await asyncio.sleep(CLOCK_CHECK)
            try:
                skew = await self.read()
            except Exception:
                log.warning("Could not read the database's clock; keeping the last reading")
                continue
            if abs(skew) > CLOCK_TOLERANCE:
                log.warning(
                    "This machine's clock is %.0f s off the database's; the bot keeps to the "
                    "database's time, but the machine's clock should be set right",
                    skew,
                )


async def shared_clock(storage: Storage) -> Callable[[], float]:
    """The clock the bot tells shared times by: the database's, when it has one (PostgreSQL),
    else this machine's (SQLite). Raises ``ClockSkew`` as ``DatabaseClock.start`` does."""
    if await storage.database_time() is None:
        return time.time
    clock = DatabaseClock(storage)
    await clock.start()
    return clock


def _utc(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

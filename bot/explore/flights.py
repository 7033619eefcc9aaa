"""Single flight: one generation per key at a time, however many members ask for it.

Every generation (a new map, a concept's sub-concepts, an answer) goes through
``Flights.join``: the first asker checks the limits and reserves the
generation's place (``start``), the generation runs as a task of its own, and
everyone asking for the same key meanwhile waits on that task and gets the same
result or the same error. ``Slots`` bounds how many model calls run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar

from bot.errors import GenerationError
from bot.generator import OnSketch, Sketch
from bot.i18n import N_
from bot.storage import Reservation

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")

# How long a generation waits its turn for a model call slot before giving up:
# well inside Discord's 15-minute window, leaving room for the call itself.
QUEUE_PATIENCE = 600.0
QUEUE_FULL = N_("Too many maps are being generated right now; please try again in a few minutes.")

OnQueued = Callable[[], Awaitable[None]]
Release = Callable[[Reservation], Awaitable[None]]


@dataclass(eq=False)
class Flight(Generic[R]):
    """One generation under way and the members waiting for it."""

    task: asyncio.Task[R] = field(init=False)
    queued: bool = False  # waiting for a slot
    started: bool = False  # holds a slot (or needs none any more)
    waiters: int = 0
    listeners: list[OnQueued] = field(default_factory=list)  # told when it queues
    # Everyone waiting who wants to see the answer grow, and what it says so far.
    watchers: list[OnSketch] = field(default_factory=list)
    sketch: Sketch | None = None
    # Its count against the limits, in storage until the generation's usage settles it.
    reservation: Reservation | None = None

    async def tell_queued(self) -> None:
        self.queued = True
        for listener in list(self.listeners):
            await _courtesy(listener)

    def report(self, sketch: Sketch) -> None:
        """Pass a new sketch of the answer to every watcher; one that fails is dropped."""
        self.sketch = sketch
        for watcher in list(self.watchers):
            try:
                watcher(sketch)
            except Exception:
                log.warning("A watcher of a streaming generation failed", exc_info=True)
                self.watchers.remove(watcher)

    def settle(self) -> Reservation | None:
        """Hand over the reservation to the usage that settles it (it counts from then on)."""
        reservation, self.reservation = self.reservation, None
        return reservation


async def _courtesy(listener: OnQueued) -> None:
    try:
        await listener()
    except Exception:
        # Telling the member is a courtesy; the generation goes on regardless.
        log.warning("Could not show that a generation is queued", exc_info=True)


class Flights(Generic[K, R]):
    """The generations of one kind under way, by key.

    Every kind shares one ``starting`` lock: storage checks the limits and reserves
    a generation's place in one step, across processes, and this lock makes looking
    for a flight to join and starting a new one one step too, so that a request
    joins its twin's flight instead of reserving again.
    """

    def __init__(self, starting: asyncio.Lock, release: Release) -> None:
        self._starting = starting
        self._release = release
        self._flights: dict[K, Flight[R]] = {}
        # Releases of reservations whose generation was cancelled before it ever ran.
        self._late_releases: set[asyncio.Task[None]] = set()

    def __contains__(self, key: K) -> bool:
        return key in self._flights

    async def join(
        self,
        key: K,
        start: Callable[[], Awaitable[Reservation]],
        work: Callable[[Flight[R]], Coroutine[Any, Any, R]],
        *,
        on_queued: OnQueued | None = None,
        on_progress: OnSketch | None = None,
    ) -> R:
        """The result of the generation for ``key``: the one under way, or a new one.

        A new one first awaits ``start``, which raises what stands in the way
        (limits, a refusal) or returns the generation's reservation; then
        ``work`` runs in a task of its own. ``on_queued`` is awaited once if the
        generation has to wait for a slot; ``on_progress`` sees the answer grow.
        """
        flight = self._flights.get(key)
        if flight is None:
            async with self._starting:
                flight = self._flights.get(key)
                if flight is None:
                    flight = self._take_off(key, await start(), work)
        return await self._follow(flight, on_queued, on_progress)

    def _take_off(
        self,
        key: K,
        reservation: Reservation,
        work: Callable[[Flight[R]], Coroutine[Any, Any, R]],
    ) -> Flight[R]:
        """Start the one generation for ``key``; it leaves the flights when it ends. It
        counts against the limits through ``reservation``, which its usage settles, or
        which is released when it ends without any."""
        flight: Flight[R] = Flight(reservation=reservation)
        flight.task = asyncio.create_task(self._fly(flight, work))
        self._flights[key] = flight

        def landed(task: asyncio.Task[R]) -> None:
            if self._flights.get(key) is flight:
                del self._flights[key]
            if (reservation := flight.settle()) is not None:
                # Cancelled before it ever ran, so _fly could not release it.
                release = asyncio.create_task(self._release(reservation))
                self._late_releases.add(release)
                release.add_done_callback(self._late_releases.discard)
            if not task.cancelled() and (exc := task.exception()) is not None:
                # Retrieved here so a failure nobody waits for any more is not reported as lost.
                log.debug("Generation %s ended with %s", key, type(exc).__name__)

        flight.task.add_done_callback(landed)
        return flight

    async def _fly(
        self, flight: Flight[R], work: Callable[[Flight[R]], Coroutine[Any, Any, R]]
    ) -> R:
        try:
            return await work(flight)
        finally:
            if (reservation := flight.settle()) is not None:  # no usage settled it
                # Shielded: a cancelled generation releases its place too.
                await asyncio.shield(self._release(reservation))

    async def _follow(
        self, flight: Flight[R], on_queued: OnQueued | None, on_progress: OnSketch | None
    ) -> R:
        """Wait for ``flight``'s result, telling ``on_queued`` if it waits for a slot and
        ``on_progress`` how the answer grows (from what it says already, for a late joiner).

        Shielded: a waiter that gives up never cancels a generation others wait for;
        when the last waiter gives up before it reached a slot, it leaves the queue.
        """
        flight.waiters += 1
        # The generation's task tells each waiter in the waiter's own context (whose
        # language a card is written in, say), not in that of the first asker.
        on_queued, on_progress = _in_this_context(on_queued, on_progress)
        if on_queued is not None:
            flight.listeners.append(on_queued)
        if on_progress is not None:
            flight.watchers.append(on_progress)
            if flight.sketch is not None:
                on_progress(flight.sketch)
        try:
            if on_queued is not None and flight.queued:
                await _courtesy(on_queued)  # it queued before this waiter came
            return await asyncio.shield(flight.task)
        finally:
            if on_queued is not None:
                flight.listeners.remove(on_queued)
            flight.waiters -= 1
            if on_progress in flight.watchers:
                flight.watchers.remove(on_progress)
            if not flight.waiters and not flight.started and not flight.task.done():
                flight.task.cancel()


def _in_this_context(
    on_queued: OnQueued | None, on_progress: OnSketch | None
) -> tuple[OnQueued | None, OnSketch | None]:
    """The callbacks, run in (a copy of) the caller's context wherever they are called."""
    context = contextvars.copy_context()

    async def queued(told: OnQueued) -> None:
        await asyncio.create_task(told(), context=context.copy())

    def progress(watcher: OnSketch, sketch: Sketch) -> None:
        context.copy().run(watcher, sketch)

    return (
        partial(queued, on_queued) if on_queued is not None else None,
        partial(progress, on_progress) if on_progress is not None else None,
    )


class Slots:
    """At most ``limit`` model calls at once; the others wait in the order they came."""

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @asynccontextmanager
    async def held(self, flight: Flight | None) -> AsyncIterator[None]:
        if self._free > 0 and not self._waiting:
            self._free -= 1
        else:
            turn = asyncio.get_running_loop().create_future()
            self._waiting.append(turn)
            try:
                async with asyncio.timeout(QUEUE_PATIENCE):
                    if flight is not None:
                        await flight.tell_queued()
                    await turn
            except BaseException as exc:
                if turn.done() and not turn.cancelled():
                    self._release()  # handed a slot in the same instant it gave up
                else:
                    with contextlib.suppress(ValueError):
                        self._waiting.remove(turn)
                if isinstance(exc, TimeoutError):
                    raise GenerationError(QUEUE_FULL) from None
                raise
        if flight is not None:
            flight.started = True
            flight.queued = False
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot passes straight to the next in line
                return
        self._free += 1

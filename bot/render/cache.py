"""A bounded cache of map pictures with one render per key at a time."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable

from bot.render.picture import MapPicture

log = logging.getLogger(__name__)

PICTURES_CACHED = 256  # at ~150 KiB a picture, about 40 MiB at most


class PictureCache:
    """Pictures by key (map, map version, highlighted concept), least recently used out.

    However many people press Map at once, one render runs per key and all of
    them get its result (single flight, as for generation). A failed render is
    not cached, so the next press tries again.
    """

    def __init__(self, size: int = PICTURES_CACHED) -> None:
        self.size = size
        self._done: OrderedDict[Hashable, MapPicture] = OrderedDict()
        self._flights: dict[Hashable, asyncio.Task[MapPicture]] = {}

    def get(
        self, key: Hashable, make: Callable[[], Awaitable[MapPicture]]
    ) -> asyncio.Future[MapPicture]:
        """The picture for ``key``: cached, being made, or made now by ``make``.

        Returns a future, so a caller that stops waiting (a deadline) leaves the
        render to finish for the next caller.
        """
        if key in self._done:
            self._done.move_to_end(key)
            done: asyncio.Future[MapPicture] = asyncio.get_running_loop().create_future()
            done.set_result(self._done[key])
            return done
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.create_task(self._make(key, make))
            flight.add_done_callback(_log_failure)
            self._flights[key] = flight
        # Shielded: a caller giving up does not cancel the render others wait for.
        return asyncio.shield(flight)

    async def _make(self, key: Hashable, make: Callable[[], Awaitable[MapPicture]]) -> MapPicture:
        try:
            picture = await make()
            self._done[key] = picture
            while len(self._done) > self.size:
                self._done.popitem(last=False)
            return picture
        finally:
            del self._flights[key]

    def __len__(self) -> int:
        return len(self._done)


def _log_failure(task: asyncio.Task[MapPicture]) -> None:
    # Also marks the exception as retrieved when every caller stopped waiting.
    if not task.cancelled() and task.exception() is not None:
        log.warning("A map picture failed to render: %s", task.exception())

"""What goes wrong with the database, in messages safe to show.

The errors that stop the bot from using its database at all (``StorageError`` and its
kinds), the messages a member sees when a write cannot be saved (``STORAGE_FULL``,
``STORAGE_BUSY``), and the signal a write sends while it waits for another process's
lock (``lock_wait_listener``), so that an interaction can acknowledge at once.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from bot.errors import StartupError
from bot.i18n import N_

STORAGE_FULL = N_(
    "The bot's storage is full, so nothing new can be saved right now; "
    "maps already stored still open. A bot admin needs to free disk space."
)
STORAGE_BUSY = N_("The bot's storage is busy right now; please try again in a moment.")


# Who to tell, in the current task, that a write waits for another process's lock: an
# interaction then acknowledges at once rather than on its timer (see views.in_time).
lock_wait_listener: ContextVar[Callable[[], None] | None] = ContextVar(
    "lock_wait_listener", default=None
)


def tell_lock_wait() -> None:
    """A write is waiting for another process's lock; tell whoever is listening."""
    listener = lock_wait_listener.get()
    if listener is not None:
        listener()


class StorageError(StartupError):
    """The database cannot be used; the message says why, in one line, safe to print."""


class SchemaTooNew(StorageError):
    """The database was written by a newer Kinapse; refusing to touch it."""


class StorageUnavailable(StorageError):
    """The database cannot be opened or used at all (not a database, corrupt, no access,
    a PostgreSQL server that cannot be reached or refuses).

    The message names the file or URL (without its password) and what is wrong, in one line.
    """


class DatabaseInUse(StorageError):
    """Another process has the SQLite file open; SQLite is not shared between processes."""

"""Errors whose message is safe to show a user.

Every exception here carries a short message meant for Discord; anything else
that reaches the edge is unexpected, logged with its traceback and answered
with an apology (see ``bot.ui.replies``).
"""

from __future__ import annotations

from datetime import datetime

from bot.models import Meaning, StoredMeaning, Usage


class KinapseError(Exception):
    """Base of the errors a user may see; ``str(error)`` is the user-facing line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(KinapseError):
    """A map, concept or session that does not exist (any more)."""


class NoGenerator(KinapseError):
    """Something only Claude can do, asked for while generation is off.

    ``message`` is for any member; ``detail`` says why generation is off (the bot's
    configuration), for the server's managers and the log only.
    """

    def __init__(self, message: str, available: list[str], *, detail: str = "") -> None:
        super().__init__(message)
        self.available = available
        self.detail = detail


class GenerationError(KinapseError):
    """Claude could not produce a usable answer; nothing was stored."""

    def __init__(self, message: str, usage: list[Usage] | None = None) -> None:
        super().__init__(message)
        self.usage = usage or []


class Refused(GenerationError):
    """The model declined the request; remembered for that topic for a while."""


class StorageFull(KinapseError):
    """The database's disk is full: reads work, nothing new can be written."""


class StorageBusy(KinapseError):
    """The database stayed locked by another writer for longer than we wait."""


class UnknownTopic(GenerationError):
    """The model does not know the topic well enough to map it (made up, obscure, gibberish)."""


class Ambiguous(GenerationError):
    """The topic has several meanings; ``meanings`` are the candidates to choose from."""

    def __init__(self, message: str, meanings: list[Meaning], usage: list[Usage]) -> None:
        super().__init__(message, usage=usage)
        self.meanings = meanings


class ChooseMeaning(KinapseError):
    """The topic has several meanings, stored for the scope: the member picks one."""

    def __init__(self, message: str, topic: str, choices: list[StoredMeaning]) -> None:
        super().__init__(message)
        self.topic = topic
        self.choices = choices


class LimitReached(KinapseError):
    """A cooldown or budget stands in the way until ``retry_at``."""

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class StartupError(Exception):
    """Something the bot cannot start with: a setting, a file or a folder.

    The message is one line naming the variable or path and what is wrong;
    ``python -m bot`` prints it and exits with status 2, never a traceback.
    """


class ConfigError(StartupError):
    """A missing or malformed setting; the message names the variable."""


class BadMaterial(KinapseError):
    """A member's file or link that cannot be mapped (its type, its size, no text, a page
    that cannot be fetched); nothing was stored."""


class FetchFailed(GenerationError):
    """The API's web fetch tool could not fetch the page a member gave."""

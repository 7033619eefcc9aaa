"""The explore core's facade: one object that builds the parts and hands them out.

The edge (``bot.ui``) holds an ``Explorer`` and calls its parts, each a module of
its own responsibility; it never touches storage itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bot.config import Settings
from bot.explore.cache import KnownMaps
from bot.explore.concepts import Concepts
from bot.explore.discussions import Discussions
from bot.explore.flights import Flights
from bot.explore.library import Library
from bot.explore.limits import Budget
from bot.explore.material import Materials
from bot.explore.pictures import Pictures
from bot.explore.posts import Posts
from bot.explore.progress import Progress
from bot.explore.questions import Questions
from bot.explore.quizzes import Quizzes
from bot.explore.reviews import Reviews
from bot.explore.scopes import Preferences
from bot.explore.sessions import Sessions
from bot.explore.topics import Topics
from bot.explore.translations import Translations
from bot.explore.upkeep import Upkeep
from bot.explore.views import NO_KEY
from bot.generator import Generator
from bot.maps import BundledMaps
from bot.storage import Storage


class Explorer:
    """Maps, concepts, questions, limits, sessions, upkeep, pictures, and learning together
    (quizzes, review decks, progress, threads) of the bot.

    ``generator`` is None when the bot has no working API key; ``generation_off``
    then says why, as the end of a sentence members read.
    """

    def __init__(
        self,
        storage: Storage,
        bundled: BundledMaps,
        settings: Settings,
        generator: Generator | None = None,
        *,
        clock: Callable[[], float] = time.time,
        generation_off: str = NO_KEY,
    ) -> None:
        self.storage = storage
        self.bundled = bundled
        self.settings = settings
        self.generator = generator
        self.generation_off = generation_off
        self.clock = clock
        # The parts read the time through ``now``, so replacing ``clock`` reaches them all.
        clock = self._now
        self.budget = Budget(storage, settings, clock)
        self.preferences = Preferences(storage, settings)
        # The maps and concepts read so far, so that known cards read nothing.
        self.known = KnownMaps(storage)
        # Every kind of generation is started under one lock (see ``Flights``).
        starting = asyncio.Lock()
        # Curated maps in the scope's language: only Claude can translate them.
        self.translations = Translations(storage, generator, clock) if generator else None
        self.concepts = Concepts(
            storage,
            self.known,
            bundled,
            settings,
            self.budget,
            Flights(starting, self.budget.release),
            generator,
            generation_off,
            clock,
            self.preferences,
            Flights(starting, self.budget.release),
            self.translations,
        )
        self.topics = Topics(
            storage,
            self.known,
            bundled,
            self.preferences,
            self.budget,
            Flights(starting, self.budget.release),
            generator,
            generation_off,
            clock,
            self.translations,
        )
        self.library = Library(storage, bundled, self.topics, self.concepts)
        self.questions = Questions(
            storage,
            self.concepts,
            self.budget,
            Flights(starting, self.budget.release),
            generator,
            generation_off,
            clock,
        )
        self.sessions = Sessions(storage, self.concepts, clock)
        self.materials = Materials(
            storage,
            settings,
            self.preferences,
            self.budget,
            Flights(starting, self.budget.release),
            generator,
            generation_off,
            clock,
        )
        self.upkeep = Upkeep(storage, settings, clock, self.materials)
        self.pictures = Pictures(storage, self.known)
        self.posts = Posts()  # private cards posted in their channel
        # Learning together: quizzes, review decks, progress, threads.
        self.quizzes = Quizzes(
            storage,
            self.concepts,
            self.budget,
            Flights(starting, self.budget.release),
            generator,
            clock,
        )
        self.reviews = Reviews(storage, self.concepts, clock)
        self.progress = Progress(storage, self.reviews, clock)
        self.discussions = Discussions(storage, clock)

    def _now(self) -> float:
        return self.clock()

    async def aclose(self) -> None:
        """Before storage closes: write what was answered and not yet written."""
        await self.sessions.flush()

    async def stored_value(self, key: str) -> str | None:
        """A value the bot keeps for itself across restarts (the hash of its commands)."""
        return await self.storage.get_meta(key)

    async def store_value(self, key: str, value: str) -> None:
        await self.storage.set_meta(key, value)

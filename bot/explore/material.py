"""Maps of a member's own material: a file (PDF, text, Markdown) or a web page, mapped
with every concept citing where in the material its idea is, and kept with the map.

Before anything is spent: the file's checks (``reading``), its tokens counted by the API
against what the server may still spend today, and the cooldown as for any new map. The
same file (and typed topic) shared again in a scope opens the map it already has. The
material is stored with its map (a PDF also uploaded to the Files API, so later calls
send its id); the map's sub-concepts and answers are grounded in it (``material_for``);
forgetting the map deletes both.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.config import Settings
from bot.errors import BadMaterial, NoGenerator
from bot.explore.flights import Flight, Flights, OnQueued
from bot.explore.limits import RESERVED_TOKENS, Budget
from bot.explore.reading import (
    UNSUPPORTED,
    Checked,
    check_file,
    check_size,
    check_url,
    kind_of,
    shown_name,
)
from bot.explore.scopes import Preferences
from bot.generator import Generator, Material, OnSketch
from bot.i18n import N_
from bot.languages import same_language
from bot.models import ConceptMap, MaterialKind, Source, clean_topic, topic_key
from bot.storage import MaterialInfo, NewMaterial, Storage
from bot.text import shorten

log = logging.getLogger(__name__)

# One model call's worth: Claude's context window (200,000) less room for the answer.
TOKENS_MAX = 180_000
TOO_LONG = N_(
    "*{name}* is about {tokens} tokens, more than one model call can read ({limit}); "
    "share a shorter part of it."
)
OVER_BUDGET = N_(
    "Mapping *{name}* needs about {tokens} tokens, more than the {left} this server may "
    "still spend today (its daily budget is {budget}). Try a shorter part of it, or tomorrow."
)
NOT_FROM_DISCORD = N_("That attachment doesn't come from Discord's CDN, so it wasn't downloaded.")
MATERIAL_OFF = N_("Your own material can't be mapped in this server for now.")


@dataclass(frozen=True)
class MaterialMap:
    """A map of a member's material, and what it was made from."""

    map: ConceptMap
    material: MaterialInfo
    existing: bool = False  # the scope had it already: nothing was generated


def other_language(material: str | None, maps: str) -> str | None:
    """The material's language when it is not the one the map is written in."""
    if not material or not material.strip():
        return None
    named = shorten(" ".join(material.split()), 40)
    return None if same_language(named, maps) else named


class Materials:
    """Mapping members' files and pages, and the material behind a map."""

    def __init__(
        self,
        storage: Storage,
        settings: Settings,
        preferences: Preferences,
        budget: Budget,
        flights: Flights[tuple[int, str, str], MaterialMap],
        generator: Generator | None,
        generation_off: str,
        clock: Callable[[], float],
    ) -> None:
        self.storage = storage
        self.settings = settings
        self.preferences = preferences
        self.budget = budget
        self.generator = generator
        self.generation_off = generation_off
        self.clock = clock
        self._flights = flights  # one map per (scope, material, typed topic) at a time

    # -- before downloading --------------------------------------------------------------

    def check_attachment(self, name: str, content_type: str | None, size: int, url: str) -> None:
        """What can be told of an attachment before downloading it: from Discord's CDN
        (never an address a member chose), of a kind Kinapse maps, within the size."""
        hosts = {h.strip().casefold() for h in self.settings.attachment_hosts.split(",")}
        if not url.startswith("https://") or _host(url) not in hosts:
            raise BadMaterial(NOT_FROM_DISCORD)
        if kind_of(name, content_type) is None:
            raise BadMaterial(N_(UNSUPPORTED, name=shown_name(name)))
        check_size(name, size, self.settings.material_max_mb)

    def check_link(self, url: str) -> None:
        """A link that is not a web page's address is refused before anyone waits."""
        check_url(url)

    def _need_generator(self) -> Generator:
        if self.generator is None:
            # Why it is off is for the server's managers (``NoGenerator.detail``).
            raise NoGenerator(MATERIAL_OFF, [], detail=self.generation_off)
        return self.generator

    # -- mapping -------------------------------------------------------------------------

    async def map_file(
        self,
        scope: int,
        user_id: int,
        name: str,
        content_type: str | None,
        data: bytes,
        *,
        topic: str | None = None,
        on_queued: OnQueued | None = None,
        on_progress: OnSketch | None = None,
    ) -> MaterialMap:
        """Map an attached file (its bytes as Discord gave them), or raise ``BadMaterial``
        saying why it can't be; nothing is stored unless the map is."""
        self._need_generator()
        checked = await asyncio.to_thread(
            check_file,
            name,
            content_type,
            data,
            limit_mb=self.settings.material_max_mb,
            max_pages=self.settings.material_max_pages,
        )
        return await self._map(scope, user_id, checked, topic, on_queued, on_progress)

    async def map_page(
        self,
        scope: int,
        user_id: int,
        url: str,
        *,
        topic: str | None = None,
        on_queued: OnQueued | None = None,
        on_progress: OnSketch | None = None,
    ) -> MaterialMap:
        """Map the web page at ``url``, fetched by the API's web fetch tool (never by the
        bot); a page that can't be fetched raises ``FetchFailed``."""
        self._need_generator()
        return await self._map(scope, user_id, check_url(url), topic, on_queued, on_progress)

    async def _map(
        self,
        scope: int,
        user_id: int,
        checked: Checked,
        topic: str | None,
        on_queued: OnQueued | None,
        on_progress: OnSketch | None,
    ) -> MaterialMap:
        generator = self._need_generator()
        typed = clean_topic(topic) if topic else ""
        request = topic_key(typed) if typed else ""
        known = await self.storage.map_of_material(scope, checked.digest, request)
        if known is not None:
            return await self._stored(known, existing=True)
        await self.budget.check(scope, user_id)  # the cooldown, before the API is asked
        language = await self.preferences.language(scope)
        tokens = await generator.count_tokens(typed, language, checked.material)
        shown = shown_name(checked.material.name)
        if tokens > TOKENS_MAX:
            raise BadMaterial(N_(TOO_LONG, name=shown, tokens=tokens, limit=TOKENS_MAX))
        left, budget = await self.budget.left_today(scope)
        if tokens + RESERVED_TOKENS > left:
            raise BadMaterial(N_(OVER_BUDGET, name=shown, tokens=tokens, left=left, budget=budget))
        return await self._flights.join(
            (scope, checked.digest, request),
            lambda: self.budget.reserve(scope, user_id, tokens + RESERVED_TOKENS),
            lambda flight: self._generate(scope, user_id, checked, typed, language, flight),
            on_queued=on_queued,
            on_progress=on_progress,
        )

    async def _generate(
        self,
        scope: int,
        user_id: int,
        checked: Checked,
        typed: str,
        language: str,
        flight: Flight,
    ) -> MaterialMap:
        generator = self._need_generator()
        request = topic_key(typed) if typed else ""
        level = await self.preferences.level(scope)
        material = checked.material
        result = await self.budget.call(
            scope,
            user_id,
            "map",
            f"material:{checked.digest}",
            lambda: generator.generate_map(
                typed, language, level=level, on_progress=flight.report, material=material
            ),
            flight,
        )
        draft = result.value
        read = result.read
        data = material.data
        title = material.title
        if read is not None and read.text is not None:  # a page, as the fetch tool gave it
            data, title = read.text.encode(), read.title
        assert data is not None
        name = material.name
        label = shorten(f"{draft.title or typed or shown_name(name)}", 80)
        key = await self._free_key(scope, label, name)
        stored = await self.storage.create_map(
            scope=scope,
            key=key,
            topic=label,
            language=language,
            overview=draft.overview,
            source=Source.GENERATED,
            model=generator.model,
            concepts=draft.concepts,
            now=self.clock(),
            level=level,
            sources=draft.sources,
            material=NewMaterial(
                kind=material.kind,
                name=name,
                media_type=material.media_type,
                data=data,
                digest=checked.digest,
                request=request,
                title=title,
                pages=checked.pages,
                shared_by=user_id,
                language=other_language(read.language if read else None, language),
            ),
        )
        if material.kind is MaterialKind.PDF:
            file_id = await generator.upload(material)
            if file_id is not None:
                await self.storage.set_material_file(stored.id, file_id)
        return await self._stored(stored.id)

    async def _free_key(self, scope: int, title: str, name: str) -> str:
        """A key for the map that no map of the scope has: its title, else with what it
        was made from ("Photosynthesis (lecture-3.pdf)"), else numbered."""
        for candidate in (title, f"{title} ({shown_name(name)})"):
            if await self.storage.find_map(scope, topic_key(candidate)) is None:
                return topic_key(candidate)
        number = 2
        while await self.storage.find_map(scope, key := topic_key(f"{title} ({number})")):
            number += 1
        return key

    async def _stored(self, map_id: int, *, existing: bool = False) -> MaterialMap:
        concept_map = await self.storage.get_map(map_id)
        info = await self.storage.material(map_id)
        assert concept_map is not None and info is not None
        return MaterialMap(concept_map, info, existing)

    # -- after ---------------------------------------------------------------------------

    async def forget(self, map_id: int) -> None:
        """Delete a map's material now, and its file at the Files API."""
        info = await self.storage.material(map_id)
        if info is None:
            return
        if info.file_id is not None and self.generator is not None:
            await self.generator.delete_file(info.file_id)
        await self.storage.delete_material(map_id)
        log.info("Deleted the material of map %s (%s)", map_id, info.kind.value)


async def material_for(storage: Storage, concept_map: ConceptMap) -> Material | None:
    """The material a map's later calls are grounded in, or None for any other map."""
    if concept_map.material is None:
        return None
    info = await storage.material(concept_map.id)
    data = await storage.material_data(concept_map.id)
    if info is None or data is None:
        return None
    return Material(info.kind, info.name, info.media_type, data, info.file_id, info.title)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").casefold()

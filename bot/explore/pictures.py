"""Pictures of maps: drawn in a subprocess by ``bot.render``, once per map version."""

from __future__ import annotations

import asyncio
import dataclasses

from bot.explore.cache import KnownMaps
from bot.models import ConceptMap
from bot.render import MapPicture, Node, PictureCache, Renderer
from bot.storage import Storage


class Pictures:
    """The pictures of stored maps, kept by map version and highlighted concept."""

    def __init__(self, storage: Storage, known: KnownMaps) -> None:
        self.storage = storage
        self.known = known  # its opens counted ahead of their write are drawn explored
        self.renderer = Renderer()
        self.cache = PictureCache()

    def of(
        self, concept_map: ConceptMap, highlight: int | None = None, *, whole: bool = True
    ) -> asyncio.Future[MapPicture]:
        """The picture of everything stored of the map, ``highlight`` (None: the topic)
        and its path marked; one render per version, however many ask at once. Without
        ``whole``, the map card's small picture: what can be read at Discord's inline size.

        A map only grows (concepts are added, and opened ones stay opened), so the
        counts of stored and opened concepts name its version. The picture says which
        counts it was drawn from (``MapPicture.counts``): storage may have moved on
        since ``concept_map`` was read, and a card shows the counts of its picture.
        """
        key = (concept_map.id, concept_map.total, concept_map.opened, highlight, whole)

        async def draw() -> MapPicture:
            concepts = await self.storage.map_concepts(concept_map.id)
            opened = await self.storage.opened_ids(concept_map.id)
            opened |= self.known.ahead_in(concept_map.id)
            nodes = [Node(c.id, c.parent_id, c.title, c.id in opened) for c in concepts]
            picture = await self.renderer.draw(concept_map.topic, nodes, highlight, whole=whole)
            counts = (sum(node.opened for node in nodes), len(nodes))
            return dataclasses.replace(picture, counts=counts)

        return self.cache.get(key, draw)

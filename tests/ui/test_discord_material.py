"""/explore with a member's own file or page, through Discord, with the real SDK against
the stand-in (which reads the PDF and cites its pages).

SimCord simulates attachment options: ``file=(name, bytes)`` stores the file in its
stand-in for Discord's CDN (``cdn.simcord.invalid``) and puts it in the interaction's
``resolved.attachments``, as Discord's API reference documents; discord.py reads it back
through ``Attachment.read()``, which SimCord serves. So the bot under test is told that
host is Discord's CDN (``KINAPSE_ATTACHMENT_HOSTS``), as the preview is.
"""

from __future__ import annotations

import pytest

from bot.config import Settings
from tests.support.harness import (
    Kinapse,
    World,
    card_text,
    click_open,
    concept_lines,
    heading,
    labels,
    small_lines,
)
from tests.support.pdfs import make_pdf

SIMCORD_CDN = "cdn.simcord.invalid"
PAGES = [
    "Photosynthesis turns light into sugar. Plants do it in their leaves.",
    "Respiration burns sugar for energy. Every living cell does it.",
    "Decomposers return nutrients to the soil. Fungi and bacteria do this work.",
    "Food webs link producers and consumers. Energy flows up the chain.",
    "Carbon cycles between air, water and rock. Oceans store most of it.",
]


@pytest.fixture
def bot_settings(bot_settings: Settings) -> Settings:
    hosts = f"{bot_settings.attachment_hosts},{SIMCORD_CDN}"
    return bot_settings.model_copy(update={"attachment_hosts": hosts})


@pytest.mark.anthropic
async def test_a_pdf_becomes_a_map_whose_concepts_cite_their_pages(
    world: World, kinapse: Kinapse, standin
):
    pdf = make_pdf(PAGES)
    result = await world.alice.slash(world.channel, "explore", file=("lecture-3.pdf", pdf))

    assert result.ephemeral  # reading and mapping it is private
    [card] = result.followups  # the card is in the channel
    assert not card.flags.ephemeral
    assert heading(card) == "Lecture 3"
    assert small_lines(card)[0] == f"From *lecture-3.pdf*, shared by <@{world.alice.id}>"
    assert concept_lines(card)[:2] == ["1 · Photosynthesis Turns Light Into", "2 · Respiration Burns Sugar For"]
    assert "Mapped *lecture-3.pdf*: the card is in the channel." in card_text(result.response)

    # The model got the PDF as a document block with citations on.
    [document] = [b for b in standin.requests[0].messages[0]["content"] if b["type"] == "document"]
    assert document["source"]["media_type"] == "application/pdf"
    assert document["citations"] == {"enabled": True}
    assert standin.materials.counted  # its tokens were counted before

    # Each key concept keeps the page its idea is on, as the API cited it.
    stored = await kinapse.storage.find_map(world.guild.id, "lecture 3")
    concepts = await kinapse.storage.key_concepts(stored.id)
    assert [[s.pages for s in c.sources] for c in concepts] == [[(n, n)] for n in range(1, 6)]
    assert concepts[1].sources[0].quote == PAGES[1]
    assert concepts[1].sources[0].url is None  # a member's file has no address

    # The concept's card says so, and opening it maps its sub-concepts from the same PDF.
    respiration = (await click_open(world.alice, card, "Respiration Burns Sugar For")).response
    assert "Sources: p. 2" in card_text(respiration)
    expand = standin.requests[-1]
    assert expand.messages[0]["content"][0]["source"] == {
        "type": "file",
        "file_id": "file_standin_0001",  # uploaded once the map was stored
    }
    assert concept_lines(respiration) == [f"{n} · Respiration Burns Part {n}" for n in range(1, 4)]
    part = (await click_open(world.alice, respiration, "Respiration Burns Part 2")).response
    assert "Sources: p. 2" in card_text(part)

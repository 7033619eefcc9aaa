"""/explore with a member's own file or page, through Discord, with the real SDK against
the stand-in (which reads the PDF and cites its pages).

SimCord simulates attachment options: ``file=(name, bytes)`` stores the file in its
stand-in for Discord's CDN (``cdn.simcord.invalid``) and puts it in the interaction's
``resolved.attachments``, as Discord's API reference documents; discord.py reads it back
through ``Attachment.read()``, which SimCord serves. So the bot under test is told that
host is Discord's CDN (``KINAPSE_ATTACHMENT_HOSTS``), as the preview is.
"""

from __future__ import annotations

import asyncio

import discord
import pytest

from bot.config import Settings
from bot.models import Usage
from tests.support.harness import (
    Kinapse,
    World,
    card_text,
    click_open,
    concept_lines,
    heading,
    small_lines,
)
from tests.support.pdfs import make_pdf

SIMCORD_CDN = "cdn.simcord.invalid"


def said(result) -> str:
    """What the member reads on the interaction's (private) message: text or card."""
    message = result.response
    return message.content or card_text(message)


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
    assert concept_lines(card)[:2] == [
        "1 · Photosynthesis Turns Light Into",
        "2 · Respiration Burns Sugar For",
    ]
    assert "Mapped *lecture-3.pdf*: the card is in the channel." in said(result)

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
    listed = card_text((await world.alice.click(respiration, label="Sources")).response)
    assert "from the shared material: the places it cites are below." in listed
    assert f"- lecture-3.pdf, p. 2\n  -# “{PAGES[1]}”" in listed
    expand = standin.requests[-1]
    assert expand.messages[0]["content"][0]["source"] == {
        "type": "file",
        "file_id": "file_standin_0001",  # uploaded once the map was stored
    }
    assert concept_lines(respiration) == [f"{n} · Respiration Burns Part {n}" for n in range(1, 4)]
    part = (await click_open(world.alice, respiration, "Respiration Burns Part 2")).response
    assert "Sources: p. 2" in card_text(part)


async def ask(actor, card, question: str):
    form = await actor.click(card, label="Ask")
    assert form.modal is not None, "Ask opened no form"
    return await actor.submit_modal(form, {"question": question})


@pytest.mark.anthropic
async def test_an_answer_about_a_pdf_map_cites_the_same_pdf(
    world: World, kinapse: Kinapse, standin
):
    result = await world.alice.slash(
        world.channel, "explore", file=("lecture-3.pdf", make_pdf(PAGES))
    )
    [card] = result.followups
    answered = (await ask(world.alice, card, "What does the lecture say about sugar?")).response
    text = card_text(answered)
    assert "Photosynthesis turns light into sugar." in text
    assert "lecture-3.pdf, p. 1" in text  # the answer's source: the page it cited
    question = standin.requests[-1]
    [document] = [b for b in question.messages[0]["content"] if b["type"] == "document"]
    assert document["source"]["type"] == "file" and document["citations"] == {"enabled": True}
    assert not question.body.get("tools")  # grounded in the material, not the web
    stored = await kinapse.storage.find_map(world.guild.id, "lecture 3")
    [answer] = [a async for a in _answers(kinapse, stored.id)]
    assert [s.pages for s in answer.sources] == [(1, 1)]


async def _answers(kinapse: Kinapse, map_id: int):
    from bot.models import question_key

    found = await kinapse.storage.find_answer(
        map_id, None, question_key("What does the lecture say about sugar?")
    )
    if found is not None:
        yield found


@pytest.mark.anthropic
async def test_a_text_attachment_is_sent_to_the_model_and_answered_with_a_card(
    world: World, kinapse: Kinapse, standin
):
    notes = "\n\n".join(PAGES).encode()
    result = await world.alice.slash(world.channel, "explore", file=("notes.md", notes))
    [card] = result.followups
    assert heading(card) == "Notes"
    assert len(concept_lines(card)) == 5
    [document] = [b for b in standin.requests[0].messages[0]["content"] if b["type"] == "document"]
    assert document["source"] == {
        "type": "text",
        "media_type": "text/plain",
        "data": notes.decode(),
    }
    opened = (await click_open(world.alice, card, concept_lines(card)[2].split(" · ")[1])).response
    assert "Sources: notes.md" in card_text(opened)
    stored = await kinapse.storage.find_map(world.guild.id, "notes")
    [third] = [c for c in await kinapse.storage.key_concepts(stored.id)][2:3]
    assert third.sources[0].quote == PAGES[2]


@pytest.mark.anthropic
async def test_a_page_is_fetched_by_the_api_never_by_the_bot(
    world: World, kinapse: Kinapse, standin
):
    # A real server at the address: the test fails if the bot opens a connection to it.
    connections: list[object] = []

    async def refuse(reader, writer) -> None:
        connections.append(writer.get_extra_info("peername"))
        writer.close()

    server = await asyncio.start_server(refuse, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/article"
    standin.materials.pages[url] = ("How Tides Work", "\n\n".join(PAGES))
    try:
        result = await world.alice.slash(world.channel, "explore", url=url)
    finally:
        server.close()
        await server.wait_closed()
    assert connections == []
    assert standin.materials.fetched == [url]
    first = standin.requests[0]
    assert first.body["tools"][0]["type"] == "web_fetch_20250910"
    assert first.body["tools"][0]["citations"] == {"enabled": True}
    assert url in first.prompt
    [card] = result.followups
    assert heading(card) == "How Tides Work"
    assert small_lines(card)[0] == f"From 127.0.0.1/article, shared by <@{world.alice.id}>"
    # Its sub-concepts are grounded in the page as fetched, not fetched again.
    opened = (await click_open(world.alice, card, concept_lines(card)[0].split(" · ")[1])).response
    assert "Sources: 127.0.0.1" in card_text(opened)
    expand = standin.requests[-1]
    assert not expand.body.get("tools")
    assert expand.messages[0]["content"][0]["source"]["data"] == "\n\n".join(PAGES)
    assert standin.materials.fetched == [url]


async def _nothing_stored(kinapse: Kinapse, world: World) -> None:
    """No map, no material and no usage: a refused input leaves no row behind."""
    assert await kinapse.storage.list_maps(world.guild.id, 10) == []
    assert await kinapse.storage.count_rows("maps") == 0
    assert await kinapse.storage.count_rows("materials") == 0


BAD_FILES = [
    ("slides.pptx", b"PK\x03\x04 not a pdf", "slides.pptx* can't be mapped: attach a PDF"),
    ("photo.png", b"\x89PNG\r\n", "photo.png* can't be mapped: attach a PDF"),
    ("empty.txt", b"   \n", "empty.txt* is empty"),
    ("latin1.txt", "Caf\xe9 ".encode("latin-1") * 20, "latin1.txt* isn't UTF-8 text"),
    ("scan.pdf", make_pdf(["", ""]), "scan.pdf* has no text to read"),
    ("broken.pdf", b"%PDF-1.4 garbage", "broken.pdf* can't be read as a PDF"),
]


@pytest.mark.anthropic
@pytest.mark.parametrize(("name", "data", "message"), BAD_FILES)
async def test_a_file_that_cannot_be_mapped_is_answered_privately_and_stores_nothing(
    world: World, kinapse: Kinapse, standin, name: str, data: bytes, message: str
):
    result = await world.alice.slash(world.channel, "explore", file=(name, data))
    assert result.ephemeral
    assert message in said(result)
    assert result.followups == []
    assert standin.requests == []  # nothing was spent on it
    await _nothing_stored(kinapse, world)


@pytest.mark.anthropic
async def test_an_encrypted_pdf_is_refused(world: World, kinapse: Kinapse, standin):
    from tests.support.pdfs import encrypted

    result = await world.alice.slash(
        world.channel, "explore", file=("locked.pdf", encrypted(make_pdf(PAGES)))
    )
    assert "locked.pdf* is encrypted or protected by a password" in said(result)
    assert standin.requests == []
    await _nothing_stored(kinapse, world)


@pytest.mark.anthropic
async def test_limits_are_checked_before_anything_is_spent(world: World, kinapse: Kinapse, standin):
    big = make_pdf(PAGES) + b"%" * (10 * 1024 * 1024)
    result = await world.alice.slash(world.channel, "explore", file=("big.pdf", big))
    assert "big.pdf* is 10.1 MB; files of up to 10 MB can be mapped." in said(result)

    many = make_pdf([f"Page {n} says something about cells." for n in range(1, 102)])
    result = await world.alice.slash(world.channel, "explore", file=("many.pdf", many))
    assert "many.pdf* has 101 pages; PDFs of up to 100 pages can be mapped." in said(result)
    assert standin.requests == []

    standin.materials.token_count = 199_000  # counted by the API: more than the day allows
    result = await world.alice.slash(world.channel, "explore", file=("long.pdf", make_pdf(PAGES)))
    assert "long.pdf* is about 199,000 tokens, more than one model call can read" in said(result)
    standin.materials.token_count = 150_000
    # The server's budget is 100,000 a day, and it spent 60,000 of it today.
    await kinapse.explorer.preferences.update(world.guild.id, budget=100_000)
    await kinapse.storage.record_usage(
        scope=world.guild.id,
        user_id=world.bob.id,
        request="earlier",
        kind="map",
        usage=[Usage(model="claude-sonnet-4-6", input_tokens=60_000)],
        now=kinapse.explorer.clock(),
    )
    result = await world.alice.slash(world.channel, "explore", file=("long.pdf", make_pdf(PAGES)))
    assert (
        "Mapping *long.pdf* needs about 150,000 tokens, more than the 40,000 this server may "
        "still spend today (its daily budget is 100,000)." in said(result)
    )
    assert len(standin.materials.counted) == 2
    assert standin.requests == []  # counting is not a model call
    await _nothing_stored(kinapse, world)


@pytest.mark.anthropic
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/notes.txt", "That link can't be mapped: give a web page's address"),
        ("javascript:alert(1)", "That link can't be mapped"),
        ("https://user:pw@example.org/x", "That link carries a user name or password"),
    ],
)
async def test_a_link_that_is_not_a_web_page_is_refused(
    world: World, kinapse: Kinapse, standin, url: str, message: str
):
    result = await world.alice.slash(world.channel, "explore", url=url)
    assert message in said(result)
    assert result.followups == []
    assert standin.requests == []
    await _nothing_stored(kinapse, world)


@pytest.mark.anthropic
async def test_a_page_that_cannot_be_fetched_is_answered_privately(
    world: World, kinapse: Kinapse, standin
):
    url = "https://example.org/private"
    standin.materials.fetch_errors[url] = "url_not_accessible"
    result = await world.alice.slash(world.channel, "explore", url=url)
    assert result.ephemeral and result.followups == []
    assert (
        "Couldn't map example.org/private: The page could not be fetched: the page answered "
        "with an error (is it public?)." in said(result)
    )
    assert standin.materials.fetched == [url]
    await _nothing_stored(kinapse, world)


@pytest.mark.anthropic
async def test_a_document_in_another_language_is_mapped_in_the_servers_and_says_so(
    world: World, kinapse: Kinapse, standin
):
    standin.materials.language = "German"
    result = await world.alice.slash(
        world.channel, "explore", file=("vorlesung.pdf", make_pdf(PAGES))
    )
    [card] = result.followups
    assert "written in German, mapped in English" in small_lines(card)[0]
    assert (
        "*vorlesung.pdf* is written in German; the map is in English, this server's language."
        in said(result)
    )
    assert "<language>English (United States) (en-US)</language>" in standin.requests[0].prompt


@pytest.mark.anthropic
async def test_forget_deletes_the_material_and_its_uploaded_file(
    world: World, kinapse: Kinapse, standin
):
    result = await world.alice.slash(
        world.channel, "explore", file=("lecture-3.pdf", make_pdf(PAGES))
    )
    stored = await kinapse.storage.find_map(world.guild.id, "lecture 3")
    assert (await kinapse.storage.material(stored.id)).file_id == "file_standin_0001"
    listing = (await world.alice.slash(world.channel, "maps")).response
    assert "1. 📄 Lecture 3" in card_text(listing)

    role = world.guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    admin = world.guild.add_member(world.env.create_user("root"), roles=[role])
    forgot = await admin.slash(world.channel, "kinapse forget", topic="Lecture 3")
    assert forgot.ephemeral
    assert await kinapse.storage.material(stored.id) is None
    assert await kinapse.storage.material_data(stored.id) is None
    assert standin.materials.deleted == ["file_standin_0001"]
    assert standin.materials.files == {}
    assert await kinapse.storage.find_map(world.guild.id, "lecture 3") is None
    del result


@pytest.mark.anthropic
async def test_the_same_file_again_opens_its_map_without_a_model_call(
    world: World, kinapse: Kinapse, standin
):
    pdf = make_pdf(PAGES)
    await world.alice.slash(world.channel, "explore", file=("lecture-3.pdf", pdf))
    calls = len(standin.requests)
    again = await world.bob.slash(world.channel, "explore", file=("copy.pdf", pdf))
    [card] = again.followups
    assert heading(card) == "Lecture 3"
    assert len(standin.requests) == calls
    assert "was mapped here before" in said(again)


@pytest.mark.anthropic
async def test_an_attachment_not_on_discords_cdn_is_not_downloaded(
    world: World, kinapse: Kinapse, standin, bot_settings: Settings
):
    kinapse.settings = bot_settings.model_copy(update={"attachment_hosts": "cdn.discordapp.com"})
    await kinapse.restart(world.env)
    result = await world.alice.slash(
        world.channel, "explore", file=("lecture-3.pdf", make_pdf(PAGES))
    )
    assert "That attachment doesn't come from Discord's CDN" in said(result)
    assert standin.requests == []
    await _nothing_stored(kinapse, world)


async def test_explore_needs_a_topic_a_file_or_a_link(world: World):
    result = await world.alice.slash(world.channel, "explore")
    assert result.ephemeral
    assert "Give a topic to explore, or attach a file or a link to map." in said(result)
    result = await world.alice.slash(
        world.channel, "explore", url="https://example.org/a", file=("a.txt", b"x" * 50)
    )
    assert "Give a file or a link, not both." in said(result)


@pytest.mark.anthropic
async def test_a_file_mapped_in_dms_belongs_to_the_member(world: World, kinapse: Kinapse, standin):
    # In the bot's DMs the scope is the member's own: the map, its material and /maps.
    carol = world.env.create_user("carol")
    result = await carol.slash("explore", file=("lecture-3.pdf", make_pdf(PAGES)))
    [card] = result.followups
    assert heading(card) == "Lecture 3"
    mine = await kinapse.storage.find_map(carol.id, "lecture 3")
    assert mine is not None
    material = await kinapse.storage.material(mine.id)
    assert material is not None and material.shared_by == carol.id
    assert await kinapse.storage.find_map(world.guild.id, "lecture 3") is None
    listing = (await carol.slash("maps")).response
    assert "1. 📄 Lecture 3" in card_text(listing)

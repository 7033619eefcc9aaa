"""Where every card's facts come from, through Discord: the footnote and the Sources button,
provenance in the footer, text not checked against sources, the server's sources setting,
Refresh, and answers that cite what the search returned.

The ``anthropic`` tests run the real generator against the stand-in, which answers a
request carrying the web search tool with server_tool_use and web_search_tool_result
blocks: every URL a card shows must be one of the results it returned.
"""

from __future__ import annotations

import re
import time

import discord
import pytest

from bot.generator import Search
from bot.models import SEARCH_TOKENS, MapDraft
from bot.ui import live
from tests.support import standin as s
from tests.support.fakes import draft
from tests.support.harness import (
    Kinapse,
    World,
    card_text,
    click_open,
    concept_lines,
    labels,
    small_lines,
    texts,
)

INVENTED = "https://invented-by-the-model.example/report"
LINK = re.compile(r"\]\(<([^>]+)>\)")
UNCHECKED = "comes from Claude's training data and has not been checked against sources"
DAY = 86_400


@pytest.fixture
def admin(world: World):
    role = world.guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    return world.guild.add_member(world.env.create_user("root"), roles=[role])


def links(message) -> list[str]:
    """Every URL the message links to."""
    return LINK.findall("\n".join(texts(message)))


def returned(standin: s.StandIn) -> set[str]:
    """Every URL a search returned to any request the stand-in answered."""
    urls = set()
    for request in standin.requests:
        if request.search_tool is None:
            continue
        title = re.search(r"<title>(.*?)</title>", request.prompt)
        topic = re.search(r"<topic>(.*?)</topic>", request.prompt)
        query = title[1] if title else topic[1] if topic else "the topic"
        urls |= {found.url for found in s.search_results(query)}
    return urls


@pytest.mark.anthropic
async def test_a_new_topic_shows_its_sources_and_only_urls_the_search_returned(
    world: World, standin
):
    card = (await world.alice.slash(world.channel, "explore", topic="Volcanoes")).response

    footnote, footer = small_lines(card)[-2:]
    assert footnote.startswith("Sources: source1.example 2026")
    assert re.match(r"Written by claude-sonnet-4-6 on \d+ \w+ 20\d\d · 3 sources · ", footer)
    assert UNCHECKED not in card_text(card)
    assert standin.requests[0].search_tool is not None

    shown = await world.bob.click(card, label="Sources")
    assert shown.ephemeral
    urls = links(shown.response)
    assert len(urls) >= 1
    assert set(urls) <= returned(standin)
    assert "Written by claude-sonnet-4-6" in card_text(shown.response)

    opened = (await click_open(world.alice, card, "Key concept 1")).response
    sub = (await world.alice.click(opened, label="Sources")).response
    assert links(sub) and set(links(sub)) <= returned(standin)


@pytest.mark.anthropic
async def test_while_the_search_runs_the_message_says_so(
    world: World, standin, monkeypatch: pytest.MonkeyPatch
):
    # SimCord's clock stands still while the stand-in streams in real time: no pause
    # between edits here (1 s in the bot). The search takes a moment, as the API's do.
    monkeypatch.setattr(live, "STREAM_EDIT_INTERVAL", 0.0)
    standin.search_time = 0.5

    card = (await world.alice.slash(world.channel, "explore", topic="Volcanoes")).response

    said = [
        r.json.get("content")
        for r in world.env.http_requests
        if r.method == "PATCH" and "/messages/@original" in r.path
    ]
    searching = said.index("Mapping *Volcanoes*… searching the web for sources")
    assert "Sources: source1.example 2026" in small_lines(card)[-2]  # then the map, sourced
    assert all(s is None or "searching" not in s for s in said[searching + 1 :])


@pytest.mark.anthropic
async def test_while_the_search_for_sub_concepts_runs_the_card_says_so(
    world: World, standin, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(live, "STREAM_EDIT_INTERVAL", 0.0)
    card = (await world.alice.slash(world.channel, "explore", topic="Volcanoes")).response
    before = len(world.env.http_requests)
    standin.search_time = 0.5

    opened = (await click_open(world.alice, card, "Key concept 1")).response

    edits = [
        "\n".join(texts(r.json))
        for r in world.env.http_requests[before:]
        if r.method == "PATCH" and r.json and r.json.get("components")
    ]
    searching = [e for e in edits if "Mapping sub-concepts… searching the web for sources" in e]
    assert searching and "Key concept 1" in searching[0]
    assert concept_lines(opened) and UNCHECKED not in card_text(opened)  # sub-concepts, sourced


@pytest.mark.anthropic
async def test_a_url_the_model_wrote_is_never_stored_or_shown(
    world: World, kinapse: Kinapse, standin
):
    results = s.search_results("Volcanoes")
    content = s.with_sources(s.valid_map(title="Volcanoes"), [results[0].url])
    content["concepts"][1]["sources"] = [INVENTED]
    content["concepts"][2]["sources"] = [INVENTED, results[2].url]
    standin.script(s.searched(content, s.Searched("volcanoes", results)))

    card = (await world.alice.slash(world.channel, "explore", topic="Volcanoes")).response
    everything = [card, (await world.alice.click(card, label="Sources")).response]
    for title in ("Key concept 2", "Key concept 3"):
        opened = (await click_open(world.alice, card, title)).response
        everything += [opened, (await world.alice.click(opened, label="Sources")).response]
        card = (await world.alice.click(opened, label="Overview")).response

    assert not any(INVENTED in "\n".join(texts(m)) for m in everything)
    stored = await kinapse.storage.find_map(world.guild.id, "volcanoes")
    concepts = await kinapse.storage.key_concepts(stored.id)
    assert concepts[1].sources == ()
    assert [c.url for c in concepts[2].sources] == [results[2].url]
    assert INVENTED not in (await kinapse.storage.get_map(stored.id)).model_dump_json()


@pytest.mark.anthropic
async def test_a_refused_search_falls_back_and_the_card_says_so(world: World, standin):
    standin.script(s.searched(s.valid_map(), s.search_failed("unavailable")))

    card = (await world.alice.slash(world.channel, "explore", topic="Volcanoes")).response

    assert f"This overview {UNCHECKED}." in card_text(card)
    assert small_lines(card)[-1].split(" · ")[1] == "not checked against sources"
    assert not links((await world.alice.click(card, label="Sources")).response)


@pytest.mark.anthropic
async def test_search_not_enabled_for_the_organisation_falls_back_too(world: World, standin):
    standin.script(s.error(400, "invalid_request_error", "web search is not enabled"))

    card = (await world.alice.slash(world.channel, "explore", topic="Volcanoes")).response

    assert concept_lines(card)[0] == "1 · Key concept 1"
    assert f"This overview {UNCHECKED}." in card_text(card)
    assert [r.search_tool is None for r in standin.requests] == [False, True]


@pytest.mark.anthropic
async def test_searches_are_counted_in_usage(world: World, admin, standin):
    await world.alice.slash(world.channel, "explore", topic="Volcanoes")

    text = (await admin.slash(world.channel, "kinapse usage")).response.content

    assert f"1 web search among them (counted as {SEARCH_TOKENS:,} each)" in text
    spent = 120 + 340 + SEARCH_TOKENS  # the stand-in's usage, and the search
    assert f"Today: **{spent:,}** tokens in 1 calls" in text


async def test_a_curated_map_card_has_a_sources_button_listing_links(
    world: World, kinapse: Kinapse
):
    bundled = kinapse.bundled.find("interest rates")
    card = (await world.alice.slash(world.channel, "explore", topic="Interest Rates")).response
    footnote, footer = small_lines(card)[-2:]
    assert footnote.startswith("Sources: ")
    assert footer.startswith(f"Curated · as of {bundled.as_of} · ")

    shown = await world.alice.click(card, label="Sources")

    assert shown.ephemeral
    expected = [src.url for src in bundled.sources]
    expected += [src.url for c in bundled.concepts for src in c.sources]
    urls = links(shown.response)
    assert urls and set(urls) <= set(expected)
    assert urls[0] == bundled.sources[0].url
    assert bundled.file in card_text(shown.response)


async def test_a_sub_concept_claude_wrote_under_a_curated_map_says_so(
    world: World, kinapse: Kinapse
):
    bundled = kinapse.bundled.find("interest rates")
    key = next(c for c in bundled.concepts if c.children)
    child = next(c for c in key.children or [] if not c.children and not c.leaf)
    card = (await world.alice.slash(world.channel, "explore", topic="Interest Rates")).response
    card = (await click_open(world.alice, card, key.title)).response
    assert small_lines(card)[-1].startswith("Curated · as of ")
    card = (await click_open(world.alice, card, child.title)).response
    assert small_lines(card)[-1].startswith("Curated · as of ")  # its own file's concept

    written = (await click_open(world.alice, card, f"{child.title} / sub 1")).response

    footer = small_lines(written)[-1]
    assert footer.startswith("Written by fake-model on ")
    assert "not checked against sources" in footer
    assert f"This concept {UNCHECKED}." in card_text(written)


async def test_the_servers_sources_setting_and_sites_reach_generation(
    world: World, kinapse: Kinapse, admin
):
    await world.alice.slash(world.channel, "explore", topic="Topic One")
    assert kinapse.generator.calls[-1].search == Search()

    result = await admin.slash(
        world.channel,
        "kinapse settings",
        prefer_sites="https://www.IEA.org/, eia.gov",
        block_sites="spam.example",
    )
    assert "preferred sites: iea.org, eia.gov · blocked sites: spam.example" in (
        result.response.content
    )
    await world.alice.slash(world.channel, "explore", topic="Topic Two")
    assert kinapse.generator.calls[-1].search == Search(
        prefer=("iea.org", "eia.gov"), block=("spam.example",)
    )

    off = await admin.slash(world.channel, "kinapse settings", sources="off")
    assert "Sources: **off**" in off.response.content
    card = (await world.alice.slash(world.channel, "explore", topic="Topic Three")).response
    assert kinapse.generator.calls[-1].search is None
    assert f"This overview {UNCHECKED}." in card_text(card)

    bad = await admin.slash(world.channel, "kinapse settings", block_sites="iea.org, not a site!")
    assert bad.response.content == "`not a site!` is not a site; write sites like iea.org, eia.gov."
    assert len(world.env.errors) == 1  # the refused value, answered and logged
    assert (await kinapse.storage.scope_settings(world.guild.id)).block_domains == ("spam.example",)


async def test_refresh_writes_an_old_volatile_concept_again_and_keeps_the_earlier_one(
    world: World, kinapse: Kinapse, admin
):
    kinapse.generator.maps["brent crude"] = MapDraft(
        overview="Brent is traded worldwide. Its price moves.",
        concepts=[draft(f"Oil part {n}") for n in range(1, 5)],
        volatile=True,
    )
    card = (await world.alice.slash(world.channel, "explore", topic="Brent Crude")).response
    fresh = (await click_open(world.alice, card, "Oil part 1")).response
    assert "Refresh" not in labels(fresh)  # written today
    card = (await world.alice.click(fresh, label="Overview")).response
    assert kinapse.explorer is not None
    later = time.time() + 91 * DAY
    kinapse.explorer.clock = lambda: later

    opened = (await click_open(world.alice, card, "Oil part 2")).response
    assert "Refresh" in labels(opened)
    refused = await world.bob.click(opened, label="Refresh")
    assert refused.ephemeral and "Manage Server" in refused.response.content

    refreshed = (await admin.click(opened, label="Refresh")).response
    assert "Oil part 2 with today's facts." in card_text(refreshed)
    assert kinapse.generator.calls[-1].kind == "refresh"
    assert "Refresh" not in labels(refreshed)  # written just now

    # The admin's private copy (the public card is Alice's); its Sources keep the earlier text.
    sources = (await admin.click(refreshed, label="Sources")).response
    assert "Refreshed on" in card_text(sources)
    earlier = (await admin.click(sources, label="Earlier version")).response
    assert "Oil part 2 in one sentence." in card_text(earlier)


@pytest.mark.anthropic
async def test_an_answer_cites_what_the_search_returned(world: World, kinapse: Kinapse, standin):
    concept = kinapse.bundled.find("ai agents").concepts[0]
    card = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    opened = (await click_open(world.alice, card, concept.title)).response

    form = await world.alice.click(opened, label="Ask")
    answered = await world.alice.submit_modal(form, {"question": "What changed this year?"})

    request = standin.requests[-1]
    assert request.search_tool is not None
    assert "Today's date: " in request.prompt and "<provenance>Curated by" in request.prompt
    assert concept.sources[0].title in request.prompt
    shown = links(answered.response)
    assert shown == [s.search_results(concept.title)[0].url]
    assert "Sources: " in card_text(answered.response)

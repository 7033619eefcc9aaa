"""Grounding by the web search tool: the real SDK against the stand-in, which answers a
request carrying the tool with server_tool_use and web_search_tool_result blocks (and
citations for plain text), streamed as the generator always asks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from anthropic import AsyncAnthropic

from bot.config import Settings
from bot.generator import (
    AnthropicGenerator,
    AskRequest,
    ExpandRequest,
    RefreshRequest,
    Search,
    Sketch,
)
from bot.generator.grounding import WEB_SEARCH_TOOL, page_date, url_key
from bot.models import SEARCH_TOKENS, Citation, ConceptDraft
from bot.prompts import Prompts, load_prompts
from tests.support.standin import (
    Found,
    Searched,
    Segment,
    StandIn,
    answer,
    concept,
    error,
    search_failed,
    search_results,
    searched,
    valid_expansion,
    valid_map,
    with_sources,
)

INVENTED = "https://made-up-by-the-model.example/report"


@pytest.fixture
def prompts() -> Prompts:
    return load_prompts(Settings().prompts_dir)


@pytest.fixture
async def generator(standin: StandIn, prompts: Prompts) -> AsyncIterator[AnthropicGenerator]:
    made = AnthropicGenerator(standin.settings(), prompts)
    try:
        yield made
    finally:
        await made.aclose()


def found(*names: str) -> tuple[Found, ...]:
    return tuple(Found(f"https://{name}.example/page", f"{name.title()} report") for name in names)


def expand_request() -> ExpandRequest:
    return ExpandRequest(
        topic="Oil",
        language="en",
        path=[ConceptDraft(title="Prices", summary="What oil costs.", detail="Why it moves.")],
        siblings=["Producers"],
    )


def ask_request(**changes: Any) -> AskRequest:
    values: dict[str, Any] = {
        "topic": "Oil",
        "language": "en",
        "path": [],
        "title": "Prices",
        "summary": "What oil costs.",
        "detail": "Why it moves.",
        "subconcepts": [],
        "question": "What does a barrel cost now?",
    }
    return AskRequest(**(values | changes))


async def test_sources_are_exactly_the_returned_results_the_answer_named(
    standin: StandIn, generator: AnthropicGenerator
) -> None:
    results = found("iea", "eia", "opec")
    content = valid_map(5)
    content["sources"] = [results[0].url]
    content["concepts"][0]["sources"] = [results[1].url, INVENTED]  # one the model wrote
    content["concepts"][1]["sources"] = [INVENTED]
    content["concepts"][2]["sources"] = [results[0].url + "/", results[0].url]  # one page twice
    standin.script(searched(content, Searched("oil prices", results)))

    result = await generator.generate_map("Oil", "en", search=Search())

    draft = result.value
    eia = Citation(
        title="Eia report", url=results[1].url, publisher="eia.example", date="2026-11-30"
    )
    assert draft.concepts[0].sources == [eia]
    assert draft.concepts[1].sources == []  # it named only a URL no search returned
    assert [s.url for s in draft.concepts[2].sources] == [results[0].url]
    assert [s.url for s in draft.sources] == [results[0].url]
    stored = [s.url for c in draft.concepts for s in c.sources] + [s.url for s in draft.sources]
    assert INVENTED not in stored
    assert results[2].url not in stored  # returned, but named by no text
    [request] = standin.requests
    assert request.search_tool == {"type": WEB_SEARCH_TOOL, "name": "web_search", "max_uses": 3}
    assert request.streamed
    assert "Web search is available for this task" in request.prompt


async def test_searches_are_counted_in_usage(
    standin: StandIn, generator: AnthropicGenerator
) -> None:
    query = search_results("oil")
    standin.script(
        searched(
            with_sources(valid_map(), [query[0].url]),
            Searched("oil", query),
            Searched("oil 2026", query),
            search_failed("too_many_requests"),  # not billed
        )
    )

    result = await generator.generate_map("Oil", "en", search=Search())

    [usage] = result.usage
    assert usage.web_searches == 2
    assert usage.total == usage.tokens + 2 * SEARCH_TOKENS


async def test_a_refused_search_falls_back_without_sources(
    standin: StandIn, generator: AnthropicGenerator, caplog: pytest.LogCaptureFixture
) -> None:
    """The tool's result is an error (search unavailable): the map is written from what the
    model knows, and no URL it names is kept."""
    content = with_sources(valid_map(), [INVENTED])
    standin.script(searched(content, search_failed("unavailable")))

    with caplog.at_level(logging.INFO):
        result = await generator.generate_map("Oil", "en", search=Search())

    assert all(c.sources == [] for c in result.value.concepts)
    assert result.value.sources == []
    assert result.usage[0].web_searches == 0
    assert "failed searches: unavailable" in caplog.text


async def test_search_not_enabled_for_the_organisation_goes_on_without_it(
    standin: StandIn, generator: AnthropicGenerator
) -> None:
    """A 400 for the tool: the same task again without it (its prompt says so), and the
    next calls skip it for a while instead of failing twice."""
    standin.script(
        error(400, "invalid_request_error", "web search is not enabled for this organization"),
        answer(valid_map()),
        answer(valid_expansion()),
    )

    result = await generator.generate_map("Oil", "en", search=Search())
    await generator.expand(expand_request(), search=Search())

    assert len(result.value.concepts) == 5
    first, again, later = standin.requests
    assert first.search_tool is not None
    assert again.search_tool is None and later.search_tool is None
    assert "Web search is not available" in again.prompt
    assert "Web search is not available" in later.prompt


async def test_max_uses_and_blocked_domains_reach_the_tool(
    standin: StandIn, generator: AnthropicGenerator
) -> None:
    results = (Found("https://blocked.example/a", "A"), Found("https://kept.example/b", "B"))
    content = with_sources(valid_expansion(), [r.url for r in results])
    standin.script(
        searched(content, Searched("q1", results), Searched("q2", results), Searched("q3", results))
    )

    result = await generator.expand(
        expand_request(), search=Search(prefer=("iea.org",), block=("blocked.example",))
    )

    [request] = standin.requests
    assert request.search_tool is not None
    assert request.search_tool["blocked_domains"] == ["blocked.example"]
    assert request.search_tool["max_uses"] == 2
    assert "prefer results from these sites: iea.org" in request.prompt
    # The blocked host's result never came back, so a concept naming it keeps nothing.
    kept = {s.url for c in result.value.concepts for s in c.sources}
    assert kept == {"https://kept.example/b"}
    assert result.usage[0].web_searches == 2  # the third passed max_uses


async def test_without_search_no_tool_and_no_sources(
    standin: StandIn, generator: AnthropicGenerator
) -> None:
    standin.script(answer(with_sources(valid_map(), [INVENTED])))

    result = await generator.generate_map("Oil", "en")

    assert standin.requests[0].search_tool is None
    assert "Web search is not available" in standin.requests[0].prompt
    assert all(c.sources == [] for c in result.value.concepts)


async def test_a_url_written_into_a_text_is_never_kept(
    standin: StandIn, generator: AnthropicGenerator
) -> None:
    content = valid_map()
    content["concepts"][0] = concept(
        "Prices",
        detail=f"See {INVENTED} for more. Prices move with supply. They fit the topic.",
    )
    standin.script(answer(content), answer(content))  # the repair keeps it: cut out

    result = await generator.generate_map("Oil", "en")

    assert INVENTED not in result.value.concepts[0].detail
    assert "contains a URL" in standin.requests[1].last


async def test_a_plain_answer_keeps_the_results_it_cites(
    standin: StandIn, generator: AnthropicGenerator
) -> None:
    results = found("eia", "iea")
    standin.script(
        searched(
            None,
            Searched("brent price", results),
            segments=(
                Segment("Let me check. ", ()),
                Segment("Brent traded near 71 dollars in early December 2026. ", results[:1]),
                Segment(f"It moves with supply, see {INVENTED}. " * 6),
            ),
        )
    )
    shown: list[str] = []

    async def on_text(text: str) -> None:
        shown.append(text)

    result = await generator.ask(ask_request(), on_text, search=Search())

    assert [s.url for s in result.sources] == [results[0].url]
    assert result.sources[0].quote is not None and "71 dollars" in result.sources[0].quote
    assert INVENTED not in result.value and all(INVENTED not in t for t in shown)
    assert result.value.startswith("Let me check. Brent traded")
    assert result.usage[0].web_searches == 1
    [request] = standin.requests
    assert request.search_tool is not None and request.search_tool["max_uses"] == 2


async def test_ask_is_told_the_date_the_provenance_and_the_sources(
    standin: StandIn, prompts: Prompts
) -> None:
    generator = AnthropicGenerator(standin.settings(), prompts, clock=lambda: 1_796_601_600.0)
    source = Citation(
        title="Oil Market Report",
        url="https://www.iea.org/reports/oil-market-report-november-2026",
        publisher="IEA",
        date="2026-11-14",
        quote="Brent averaged 64 dollars in October.",
    )
    try:
        await generator.ask(
            ask_request(provenance="Curated, facts checked as of 2026-07", sources=[source])
        )
    finally:
        await generator.aclose()

    prompt = standin.requests[0].prompt
    assert "Today's date: 7 December 2026." in prompt
    assert "<provenance>Curated, facts checked as of 2026-07</provenance>" in prompt
    assert '- Oil Market Report (IEA, 2026-11-14): "Brent averaged 64 dollars in October."' in (
        prompt
    )
    assert standin.requests[0].search_tool is None
    system = standin.requests[0].system_text
    assert "Never invent a figure" in system and "false balance" in system


async def test_refresh_writes_the_concept_again_with_its_sources(
    standin: StandIn, generator: AnthropicGenerator
) -> None:
    request = RefreshRequest(
        topic="Oil",
        language="en",
        path=[ConceptDraft(title="Prices", summary="Old.", detail="Old facts. Old figures.")],
        written="3 March 2026",
    )

    result = await generator.refresh(request, search=Search())

    assert result.value.title == "Prices"
    assert result.value.summary == "The concept as it stands today, in one sentence."
    returned = {r.url for r in search_results("Prices")}
    assert result.value.sources and {s.url for s in result.value.sources} <= returned
    assert "<written>3 March 2026</written>" in standin.requests[0].prompt


async def test_a_paused_turn_is_continued_with_its_blocks(
    standin: StandIn, generator: AnthropicGenerator
) -> None:
    results = found("eia")
    paused = searched(None, Searched("oil", results))
    paused.stop_reason = "pause_turn"
    standin.script(paused, searched(with_sources(valid_map(), [results[0].url])))

    result = await generator.generate_map("Oil", "en", search=Search())

    assert result.value.concepts[0].sources[0].url == results[0].url  # from the first call
    second = standin.requests[1]
    assert second.messages[-1]["role"] == "assistant"
    kinds = [block["type"] for block in second.messages[-1]["content"]]
    assert kinds == ["server_tool_use", "web_search_tool_result"]
    assert len(result.usage) == 2


async def test_the_standin_answers_unstreamed_requests_with_the_same_blocks(
    standin: StandIn,
) -> None:
    client = AsyncAnthropic(api_key="test-key", base_url=standin.base_url)
    try:
        message = await client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=100,
            messages=[{"role": "user", "content": "<title>Prices</title>"}],
            tools=[{"type": WEB_SEARCH_TOOL, "name": "web_search", "max_uses": 1}],
        )
    finally:
        await client.close()

    kinds = [block.type for block in message.content]
    assert kinds == ["server_tool_use", "web_search_tool_result", "text", "text"]
    assert message.content[2].citations[0].type == "web_search_result_location"
    assert message.usage.server_tool_use.web_search_requests == 1


def test_urls_and_dates_as_the_api_gives_them() -> None:
    assert url_key("https://WWW.Example.org/a/#top") == url_key("https://www.example.org/a")
    assert page_date("April 30, 2025") == "2025-04-30"
    assert page_date("2026-11-30T10:00:00Z") == "2026-11-30"
    assert page_date("2 days ago") is None  # an age, with no time to count it from


def test_an_age_is_dated_back_as_precisely_as_it_was_given() -> None:
    now = datetime(2026, 12, 8, 1, 30, tzinfo=UTC)
    assert page_date("2 days ago", now) == "2026-12-06"
    assert page_date("an hour ago", now) == "2026-12-08"
    assert page_date("3 hours ago", now) == "2026-12-07"
    assert page_date("1 week ago", now) == "2026-12-01"
    assert page_date("12 months ago", now) == "2025-12"
    assert page_date("A year ago", now) == "2025"
    assert page_date("9999 years ago", now) is None
    assert page_date("recently", now) is None
    assert page_date("April 30, 2025", now) == "2025-04-30"


async def test_a_result_dated_by_its_age_is_dated_back_from_the_search(
    standin: StandIn, prompts: Prompts
) -> None:
    searched_at = datetime(2026, 12, 8, 1, 0, tzinfo=UTC).timestamp()
    generator = AnthropicGenerator(standin.settings(), prompts, clock=lambda: searched_at)
    results = (
        Found("https://a.example/x", "A", page_age="3 hours ago"),
        Found("https://b.example/y", "B", page_age="2 weeks ago"),
        Found("https://c.example/z", "C", page_age="5 months ago"),
    )
    standin.script(
        searched(with_sources(valid_map(), [r.url for r in results]), Searched("oil", results))
    )
    try:
        result = await generator.generate_map("Oil", "en", search=Search())
    finally:
        await generator.aclose()

    dates = [source.date for c in result.value.concepts[:3] for source in c.sources]
    assert dates == ["2026-12-07", "2026-11-24", "2026-07"]


async def test_the_map_streams_after_its_search(
    standin: StandIn, generator: AnthropicGenerator
) -> None:
    standin.chunk = 9
    sketches = []

    result = await generator.generate_map("Oil", "en", on_progress=sketches.append, search=Search())

    assert sketches[-1].concepts and len(sketches[-1].concepts) == len(result.value.concepts)
    # The search runs before any text: the card can say so meanwhile.
    searching = [sketch for sketch in sketches if sketch.searching]
    assert searching and sketches[: len(searching)] == searching == [Sketch(searching=True)]
    assert sketches[len(searching)].title == "Oil"

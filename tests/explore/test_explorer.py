"""The explore core on a real Storage and real bundled maps (small ones written per test)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.errors import GenerationError, LimitReached, NoGenerator, NotFound
from bot.explore import ConceptView, Explorer, MapRef, MapView, bundled_number
from bot.explore.library import AUTOCOMPLETE_MAX, MAPS_PER_PAGE
from bot.maps import BundledMaps
from bot.models import ChildState, Level, Source, TopicError
from bot.storage import Storage
from tests.support.fakes import (
    FAKE_MODEL,
    Clock,
    FakeGenerator,
    draft,
    store_many_maps,
    write_map_file,
)

GUILD_A = 111111111111111111
GUILD_B = 222222222222222222
DM_USER = 333333333333333333  # in DMs the scope is the user
ALICE = 444444444444444444
BOB = 555555555555555555


@pytest.fixture
def maps_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "maps"
    folder.mkdir()
    write_map_file(
        folder,
        "Large Language Models",
        aliases=["LLM", "LLMs"],
        titles=["Transformers", "Training", "Prompting", "Limits"],
        children={0: ["Tokens", "Attention", "Decoders"]},
        leaves=[3],
    )
    write_map_file(folder, "Language Acquisition", titles=["Babbling", "Grammar", "Words", "Age"])
    write_map_file(folder, "Macroeconomics", aliases=["Macro"])
    write_map_file(folder, "Sign Language")
    return folder


@pytest.fixture
def bundled(maps_dir: Path) -> BundledMaps:
    loaded = BundledMaps.load(maps_dir)
    assert loaded.errors == []
    return loaded


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def explorer(
    storage: Storage, bundled: BundledMaps, fake_generator: FakeGenerator, clock: Clock
) -> AsyncIterator[Explorer]:
    explorer = Explorer(storage, bundled, Settings(), fake_generator, clock=clock)
    yield explorer
    await explorer.aclose()


@pytest.fixture
def offline(storage: Storage, bundled: BundledMaps, clock: Clock) -> Explorer:
    """The explorer of a bot with no ANTHROPIC_API_KEY."""
    return Explorer(storage, bundled, Settings(), None, clock=clock)


async def concept_titled(explorer: Explorer, map_id: int, title: str) -> int:
    for concept in (await explorer.concepts.map_view(map_id)).concepts:
        if concept.title == title:
            return concept.id
    raise AssertionError(f"no key concept {title!r}")


# -- lookup -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling", ["Large Language Models", "large language models", "LLM", "ＬＬＭ", " llms\t"]
)
async def test_lookup_finds_bundled_map_by_topic_or_alias(offline: Explorer, spelling: str) -> None:
    found = await offline.topics.lookup(GUILD_A, spelling)
    assert found is not None
    assert found.topic == "Large Language Models"
    assert found.source is Source.BUNDLED
    assert found.total == 7  # four key concepts and three children
    view = await offline.concepts.map_view(found.id)
    assert [c.title for c in view.concepts] == ["Transformers", "Training", "Prompting", "Limits"]


async def test_every_spelling_reaches_the_same_stored_copy(offline: Explorer) -> None:
    ids = {
        (await offline.topics.lookup(GUILD_A, s)).id
        for s in ("LLM", "ｌｌｍ", "Large  Language Models")
    }
    assert len(ids) == 1
    assert [m.topic for m in await offline.storage.list_maps(GUILD_A, 10)] == [
        "Large Language Models"
    ]


async def test_unknown_topic_without_generator(offline: Explorer, storage: Storage) -> None:
    assert await offline.topics.lookup(GUILD_A, "Quantum Physics") is None
    with pytest.raises(NoGenerator) as raised:
        await offline.topics.check_can_generate(GUILD_A, ALICE, "Quantum Physics")
    assert str(raised.value) == "New topics can't be mapped in this server for now."
    assert raised.value.detail == "ANTHROPIC_API_KEY is not set"
    assert raised.value.available == [
        "Language Acquisition",
        "Large Language Models",
        "Macroeconomics",
        "Sign Language",
    ]
    assert await storage.list_maps(GUILD_A, 10) == []


async def test_empty_topic_is_refused(offline: Explorer) -> None:
    with pytest.raises(TopicError):
        await offline.topics.lookup(GUILD_A, "\u200b \u202e")


async def test_new_topic_is_generated_once_and_then_known(
    explorer: Explorer, fake_generator: FakeGenerator
) -> None:
    assert await explorer.topics.lookup(GUILD_A, "Quantum Physics") is None
    await explorer.topics.check_can_generate(GUILD_A, ALICE, "Quantum Physics")
    generated = await explorer.topics.generate_map(GUILD_A, ALICE, "Quantum\u200b  Physics")

    assert generated.topic == "Quantum Physics"
    assert generated.source is Source.GENERATED
    assert generated.model == FAKE_MODEL
    assert [(c.kind, c.subject, c.language) for c in fake_generator.calls] == [
        ("map", "Quantum Physics", "en")
    ]
    found = await explorer.topics.lookup(GUILD_A, "ｑｕａｎｔｕｍ physics")
    assert found is not None
    assert found.id == generated.id
    assert await explorer.topics.lookup(GUILD_B, "Quantum Physics") is None
    usage = await explorer.storage.usage_since(GUILD_A, 0)
    assert (usage.calls, usage.tokens) == (1, 150)


async def test_the_scopes_level_shapes_its_map_and_stays_with_it(
    explorer: Explorer, fake_generator: FakeGenerator
) -> None:
    await explorer.preferences.update(GUILD_A, level=Level.INTRO)
    assert await explorer.preferences.level(GUILD_A) is Level.INTRO
    assert await explorer.preferences.level(GUILD_B) is Level.STANDARD
    generated = await explorer.topics.generate_map(GUILD_A, ALICE, "Quantum Physics")
    assert generated.level is Level.INTRO
    other = await explorer.topics.generate_map(GUILD_B, BOB, "Quantum Physics")
    assert other.level is Level.STANDARD

    # The map keeps the level it was written for when the setting changes later.
    await explorer.preferences.update(GUILD_A, level=Level.EXPERT)
    key_concept = (await explorer.concepts.map_view(generated.id)).concepts[0]
    await explorer.concepts.expand(GUILD_A, ALICE, key_concept.id)
    await explorer.questions.ask(
        GUILD_A, ALICE, "Why does this matter at all?", map_id=generated.id
    )
    # A bundled map is written for everyone: its expansions are standard.
    bundled = await explorer.topics.lookup(GUILD_A, "LLM")
    assert bundled is not None and bundled.level is Level.STANDARD
    training = await concept_titled(explorer, bundled.id, "Training")
    await explorer.concepts.expand(GUILD_A, ALICE, training)

    assert [(c.kind, c.level) for c in fake_generator.calls] == [
        ("map", Level.INTRO),
        ("map", Level.STANDARD),
        ("expand", Level.INTRO),
        ("ask", Level.INTRO),
        ("expand", Level.STANDARD),
    ]
    await explorer.preferences.update(GUILD_A, language="fr")
    assert (
        await explorer.preferences.level(GUILD_A),
        await explorer.preferences.language(GUILD_A),
    ) == (
        Level.EXPERT,
        "fr",
    )


async def test_failed_generation_stores_nothing_but_records_usage(
    explorer: Explorer, fake_generator: FakeGenerator
) -> None:
    fake_generator.fail_with("Claude could not map that topic.")
    with pytest.raises(GenerationError, match="could not map"):
        await explorer.topics.generate_map(GUILD_A, ALICE, "Quantum Physics")
    assert await explorer.topics.lookup(GUILD_A, "Quantum Physics") is None
    assert await explorer.storage.list_maps(GUILD_A, 10) == []
    assert (await explorer.storage.usage_since(GUILD_A, 0)).tokens == 150


async def test_cooldown_on_new_generations(
    storage: Storage, bundled: BundledMaps, fake_generator: FakeGenerator, clock: Clock
) -> None:
    settings = Settings(cooldown_generations=2, cooldown_seconds=600)
    explorer = Explorer(storage, bundled, settings, fake_generator, clock=clock)
    await explorer.topics.generate_map(GUILD_A, ALICE, "Topic One")
    clock.now += 10
    await explorer.topics.generate_map(GUILD_A, ALICE, "Topic Two")
    with pytest.raises(LimitReached) as raised:
        await explorer.topics.check_can_generate(GUILD_A, ALICE, "Topic Three")
    assert raised.value.retry_at.timestamp() == clock.now - 10 + 600
    await explorer.topics.check_can_generate(
        GUILD_A, BOB, "Topic Three"
    )  # others are not held back
    clock.now += 600
    await explorer.topics.generate_map(GUILD_A, ALICE, "Topic Three")
    assert fake_generator.call_count == 3


# -- scopes -------------------------------------------------------------------------


async def test_expansion_in_one_server_is_invisible_elsewhere(
    explorer: Explorer, fake_generator: FakeGenerator
) -> None:
    in_a = await explorer.topics.lookup(GUILD_A, "LLM")
    training_a = await concept_titled(explorer, in_a.id, "Training")

    view = await explorer.concepts.expand(GUILD_A, ALICE, training_a)

    assert [c.title for c in view.children] == [
        "Training / sub 1",
        "Training / sub 2",
        "Training / sub 3",
    ]
    assert view.concept.state is ChildState.EXPANDED
    assert fake_generator.call_count == 1

    for scope in (GUILD_B, DM_USER):
        elsewhere = await explorer.topics.lookup(scope, "Large Language Models")
        assert elsewhere.id != in_a.id
        assert elsewhere.total == 7
        training = await concept_titled(explorer, elsewhere.id, "Training")
        assert training != training_a
        other_view = await explorer.concepts.concept_view(training)
        assert other_view.concept.state is ChildState.UNEXPANDED
        assert other_view.children == []
        assert other_view.needs_expansion

    # Back in A, the stored expansion is served without another call.
    again = await explorer.concepts.expand(GUILD_A, BOB, training_a)
    assert len(again.children) == 3
    assert fake_generator.call_count == 1
    assert (await explorer.topics.lookup(GUILD_A, "LLM")).total == 10


async def test_expand_sends_path_and_siblings(
    explorer: Explorer, fake_generator: FakeGenerator
) -> None:
    found = await explorer.topics.lookup(GUILD_A, "LLM")
    transformers = await concept_titled(explorer, found.id, "Transformers")
    attention = (await explorer.concepts.concept_view(transformers)).children[1]

    await explorer.concepts.expand(GUILD_A, ALICE, attention.id)

    request = fake_generator.calls[0].request
    assert request is not None
    assert request.topic == "Large Language Models"
    assert [c.title for c in request.path] == ["Transformers", "Attention"]
    assert request.siblings == ["Tokens", "Decoders"]
    # The whole map so far, the path to Attention marked.
    [transformers_node] = [n for n in request.outline if n.title == "Transformers"]
    assert [n.title for n in request.outline] == ["Transformers", "Training", "Prompting", "Limits"]
    assert transformers_node.on_path
    assert [(n.title, n.on_path) for n in transformers_node.children] == [
        ("Tokens", False),
        ("Attention", True),
        ("Decoders", False),
    ]
    assert not any(n.on_path for n in request.outline if n.title != "Transformers")


async def test_bundled_children_and_leaves_need_no_generation(offline: Explorer) -> None:
    found = await offline.topics.lookup(GUILD_A, "LLM")
    transformers = await concept_titled(offline, found.id, "Transformers")
    limits = await concept_titled(offline, found.id, "Limits")
    training = await concept_titled(offline, found.id, "Training")

    view = await offline.concepts.expand(GUILD_A, ALICE, transformers)
    assert [c.title for c in view.children] == ["Tokens", "Attention", "Decoders"]
    assert not view.needs_expansion
    leaf = await offline.concepts.expand(GUILD_A, ALICE, limits)
    assert leaf.concept.state is ChildState.LEAF
    assert leaf.children == []
    with pytest.raises(NoGenerator):
        await offline.concepts.expand(GUILD_A, ALICE, training)


async def test_concurrent_expansions_share_one_generation(
    explorer: Explorer, fake_generator: FakeGenerator
) -> None:
    fake_generator.gate = asyncio.Event()
    found = await explorer.topics.lookup(GUILD_A, "LLM")
    prompting = await concept_titled(explorer, found.id, "Prompting")

    waiters = [
        asyncio.create_task(explorer.concepts.expand(GUILD_A, user, prompting))
        for user in (ALICE, BOB, ALICE)
    ]
    await fake_generator.entered.wait()
    pending = await explorer.concepts.concept_view(prompting)
    assert pending.concept.state is ChildState.PENDING
    fake_generator.gate.set()
    views = await asyncio.gather(*waiters)

    assert fake_generator.call_count == 1
    children = [[c.id for c in view.children] for view in views]
    assert len(children[0]) == 3
    assert children == [children[0]] * 3


async def test_failed_expansion_can_be_retried(
    explorer: Explorer, fake_generator: FakeGenerator
) -> None:
    found = await explorer.topics.lookup(GUILD_A, "LLM")
    training = await concept_titled(explorer, found.id, "Training")
    fake_generator.fail_with("Claude is busy; try again.")

    with pytest.raises(GenerationError, match="Claude is busy"):
        await explorer.concepts.expand(GUILD_A, ALICE, training)
    failed = await explorer.concepts.concept_view(training)
    assert failed.concept.state is ChildState.UNEXPANDED
    assert failed.concept.error == "Claude is busy; try again."
    assert failed.children == []

    fake_generator.failure = None
    view = await explorer.concepts.expand(GUILD_A, ALICE, training)
    assert len(view.children) == 3
    assert fake_generator.call_count == 2


# -- sessions -----------------------------------------------------------------------


async def test_session_navigation(explorer: Explorer, storage: Storage) -> None:
    found = await explorer.topics.lookup(GUILD_A, "LLM")
    transformers = await concept_titled(explorer, found.id, "Transformers")
    training = await concept_titled(explorer, found.id, "Training")
    tokens = (await explorer.concepts.concept_view(transformers)).children[0].id

    session = explorer.sessions.start(
        message_id=900, owner_id=ALICE, scope=GUILD_A, map_id=found.id, concept_id=None
    )
    assert isinstance(await explorer.sessions.view_of(session), MapView)

    session = await explorer.sessions.go(session, transformers)
    session = await explorer.sessions.go(session, tokens)
    assert (session.concept_id, session.history) == (tokens, [None, transformers])
    view = await explorer.sessions.view_of(session)
    assert isinstance(view, ConceptView)
    assert [c.title for c in view.path] == ["Transformers", "Tokens"]

    session = await explorer.sessions.up(session)
    assert (session.concept_id, session.history) == (transformers, [None, transformers, tokens])

    session = await explorer.sessions.back(session)
    assert (session.concept_id, session.history) == (tokens, [None, transformers])
    session = await explorer.sessions.back(session)
    assert (session.concept_id, session.history) == (transformers, [None])

    session = await explorer.sessions.go(session, training)
    session = await explorer.sessions.go(session, None)  # Overview
    assert (session.concept_id, session.history) == (None, [None, transformers, training])
    assert isinstance(await explorer.sessions.view_of(session), MapView)

    # Every step is stored, once written behind: a restarted bot resumes where the user stood.
    await explorer.sessions.flush()
    assert await storage.get_session(900) == session


async def test_up_and_back_at_the_top(explorer: Explorer) -> None:
    found = await explorer.topics.lookup(GUILD_A, "LLM")
    prompting = await concept_titled(explorer, found.id, "Prompting")
    session = explorer.sessions.start(
        message_id=901, owner_id=ALICE, scope=GUILD_A, map_id=found.id, concept_id=prompting
    )
    # No history: Back goes up, to the overview above a key concept.
    session = await explorer.sessions.back(session)
    assert session.concept_id is None
    top = await explorer.sessions.up(session)
    assert (top.concept_id, top.history) == (None, session.history)
    assert await explorer.sessions.go(top, None) == top


# -- autocomplete and listing -------------------------------------------------------


async def test_autocomplete_ranks_prefix_then_word_then_substring(offline: Explorer) -> None:
    assert await offline.library.autocomplete(GUILD_A, "lang") == [
        "Language Acquisition",  # the topic starts with it
        "Large Language Models",  # a word starts with it
        "Sign Language",
    ]
    assert await offline.library.autocomplete(GUILD_A, "LL") == ["Large Language Models"]  # alias
    assert await offline.library.autocomplete(GUILD_A, "GUAGE") == [
        "Language Acquisition",
        "Large Language Models",
        "Sign Language",
    ]
    assert await offline.library.autocomplete(GUILD_A, "macro  ") == ["Macroeconomics"]
    # Typed text is normalized as topic keys are: width, invisible spaces.
    assert await offline.library.autocomplete(GUILD_A, "ｍａｃｒｏ") == ["Macroeconomics"]
    assert await offline.library.autocomplete(GUILD_A, "large\u200blang") == [
        "Large Language Models"
    ]
    assert await offline.library.autocomplete(GUILD_A, "zzz") == []


async def test_autocomplete_includes_this_servers_maps_only(
    explorer: Explorer, storage: Storage
) -> None:
    await explorer.topics.generate_map(GUILD_A, ALICE, "Linear Algebra")
    assert await explorer.library.autocomplete(GUILD_A, "li") == ["Linear Algebra"]
    assert await explorer.library.autocomplete(GUILD_B, "li") == []
    # A bundled map the server has opened is listed once.
    await explorer.topics.lookup(GUILD_A, "Macro")
    assert await explorer.library.autocomplete(GUILD_A, "mac") == ["Macroeconomics"]


async def test_autocomplete_returns_at_most_25(explorer: Explorer, storage: Storage) -> None:
    for n in range(30, 0, -1):
        await storage.create_map(
            scope=GUILD_A,
            key=f"topic {n:02d}",
            topic=f"Topic {n:02d}",
            language="en",
            overview="An overview.",
            source=Source.GENERATED,
            model=FAKE_MODEL,
            concepts=[draft(f"C{i}") for i in range(4)],
            now=0.0,
        )
    choices = await explorer.library.autocomplete(GUILD_A, "topic")
    assert choices == [f"Topic {n:02d}" for n in range(1, 26)]
    chips = await explorer.library.autocomplete(GUILD_A, "")
    assert len(chips) == 25
    assert chips[0] == "Topic 01"  # the server's own maps before the bundled ones


async def test_nearest_maps_by_match_then_shared_words_then_what_maps_speak_of(
    explorer: Explorer, storage: Storage
) -> None:
    llm = await explorer.topics.lookup(GUILD_A, "LLM")
    assert llm is not None
    refs = await explorer.library.nearest(GUILD_A, "langu", 3)
    assert refs[0] == MapRef("Language Acquisition", bundled=bundled_number("language acquisition"))
    assert refs[1] == MapRef("Large Language Models", map_id=llm.id)  # opened: its row
    # No match as typed: the most words in common first ("of" and "the" count for nothing),
    # and only maps related to the words: never the general list.
    shared = await explorer.library.nearest(GUILD_A, "Sign of the times in language", 4)
    assert [r.topic for r in shared] == [
        "Sign Language",
        "Language Acquisition",
        "Large Language Models",
    ]
    assert await explorer.library.nearest(GUILD_A, "Volcanoes of Iceland", 4) == []
    opened = await explorer.library.open_bundled(GUILD_A, shared[0].bundled)
    assert opened.topic == "Sign Language" and opened.scope == GUILD_A
    with pytest.raises(NotFound):
        await explorer.library.open_bundled(GUILD_A, 12345)


async def test_maps_list_most_explored_first(explorer: Explorer) -> None:
    llm = await explorer.topics.lookup(GUILD_A, "LLM")
    macro = await explorer.topics.lookup(GUILD_A, "Macroeconomics")
    for title in ("Alpha", "Beta"):
        await explorer.concepts.open(await concept_titled(explorer, macro.id, title))
    await explorer.concepts.open(await concept_titled(explorer, llm.id, "Training"))
    await explorer.concepts.open(await concept_titled(explorer, llm.id, "Training"))

    listed = (await explorer.library.maps_page(GUILD_A, 0)).listings

    assert [(m.topic, m.opened, m.total) for m in listed] == [
        ("Macroeconomics", 2, 4),
        ("Large Language Models", 1, 7),
        ("Language Acquisition", 0, 4),
        ("Sign Language", 0, 4),
    ]
    # Another server has opened nothing: the bundled maps, alphabetically.
    assert [m.topic for m in (await explorer.library.maps_page(GUILD_B, 0)).listings] == [
        "Language Acquisition",
        "Large Language Models",
        "Macroeconomics",
        "Sign Language",
    ]


async def test_maps_pages_list_every_map_once_the_scopes_then_the_curated_ones(
    explorer: Explorer,
) -> None:
    stored = await store_many_maps(explorer.storage, GUILD_A, 25)
    macro = await explorer.topics.lookup(GUILD_A, "Macroeconomics")  # opened, but nothing in it yet

    pages = [await explorer.library.maps_page(GUILD_A, number) for number in range(3)]

    assert [(p.number, p.count, len(p.listings)) for p in pages] == [
        (0, 3, 10),
        (1, 3, 10),
        (2, 3, 9),
    ]
    listed = [m for page in pages for m in page.listings]
    # The stored curated map takes its place among the server's maps: first of those
    # opened 0 times ("macroeconomics" sorts before "map 00").
    expected = [(m.topic, m.id) for m in stored]
    first_unopened = next(n for n, m in enumerate(stored) if m.opened == 0)
    assert stored[first_unopened].topic == "map 00"
    expected.insert(first_unopened, ("Macroeconomics", macro.id))
    assert [(m.topic, m.id) for m in listed] == [
        *expected,
        ("Language Acquisition", None),
        ("Large Language Models", None),
        ("Sign Language", None),
    ]
    # A page past the end (an old button, maps forgotten since) is the last one.
    assert await explorer.library.maps_page(GUILD_A, 7) == pages[2]
    assert await explorer.library.maps_page(GUILD_A, -1) == pages[0]


async def test_maps_and_chips_read_a_page_of_rows_whatever_the_scope_holds(
    explorer: Explorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store_many_maps(explorer.storage, GUILD_A, 40)
    rows = rows_read(explorer.storage, monkeypatch)
    for number in range(5):
        await explorer.library.maps_page(GUILD_A, number)
        # The page, the number of maps, and which of the 4 curated ones are stored.
        assert sum(rows) <= MAPS_PER_PAGE + 1 + 4, (number, rows)
        rows.clear()
    await explorer.library.chips(GUILD_A)
    assert sum(rows) == AUTOCOMPLETE_MAX


def rows_read(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, the number of rows each read of ``storage`` returns."""
    counts: list[int] = []
    for name in ("_one", "_all", "_scan"):
        read = getattr(storage, name)

        async def counted(sql: str, params: Sequence[Any] = (), read: Any = read) -> Any:
            result = await read(sql, params)
            counts.append(0 if result is None else len(result) if isinstance(result, list) else 1)
            return result

        monkeypatch.setattr(storage, name, counted)
    return counts

"""Acknowledge first: a locked or full database never leaves a member with "This interaction
failed". Times here are real, not SimCord's virtual clock: a database lock holds the real
clock, not the virtual one, and Discord's 3 s are real. Both ends of every measurement are
read from ``real_time`` (time.perf_counter): SimCord replaces time.monotonic with its
virtual clock inside the bot's code (a request stamped there with time.monotonic would
be hours "earlier" than a start read by the test, and every answer in time)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import pytest
from simcord.results import InteractionResult

from bot.errors import StorageFull
from bot.storage import open_storage
from bot.ui import in_time as in_time_module
from bot.ui.client import COMMANDS_HASH_KEY
from bot.ui.flows.ask import FORM_TOO_LATE
from tests.support.faults import free_disk, full_disk, locked_by_another_process
from tests.support.harness import Kinapse, World, card_text, click_open, heading, labels, sections

real_time = time.perf_counter  # the real clock in the test's and in the bot's code alike

# While the database is locked a SimCord operation cannot settle (saving a session after
# the answer waits for the lock): it ends with a TimeoutError after this long, and the test
# reads the answer from the interaction itself. Short, so that every interaction of the
# test is asked while the 10 s lock is held.
OPERATION_WAIT = 1.0
DEFERRED = 5  # the interaction callback type of "thinking…"
DEFERRED_UPDATE = 6  # acknowledged, the pressed message to be edited later


class Timeline(list):
    """SimCord's log of the bot's HTTP requests, each stamped with the real time it came."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.times: list[float] = [0.0] * len(self)

    def append(self, entry: Any) -> None:
        self.times.append(real_time())
        super().append(entry)

    def first_answer(self, interaction_id: int) -> tuple[float, int] | None:
        """When the interaction got its first response (a message, an update or a
        deferral), and the response's type."""
        marker = f"/interactions/{interaction_id}/"
        for when, entry in zip(self.times, self, strict=True):
            if entry.path.startswith(marker) and entry.path.endswith("/callback"):
                return when, entry.json["type"]
        return None


@pytest.fixture
def timeline(world: World) -> Timeline:
    stamped = Timeline(world.env.backend.http_requests)
    world.env.backend.http_requests = stamped
    return stamped


@dataclass
class Timed:
    """One interaction asked while the database was locked."""

    result: InteractionResult
    answered_in: float  # real seconds from asking to the first response
    kind: int  # the first response's callback type


async def timed(world: World, timeline: Timeline, action: Awaitable[InteractionResult]) -> Timed:
    """Run one interaction; return its result and how its first response came."""
    started = real_time()
    with contextlib.suppress(TimeoutError):
        await action
    record = list(world.env.backend.interactions.values())[-1]
    # An operation may also end early, on an earlier one's TimeoutError: let the bot go on
    # (SimCord's timers run while it settles) until it answers or the window is over.
    while timeline.first_answer(record.id) is None and real_time() - started < 3:
        with contextlib.suppress(TimeoutError):
            await world.env.settle(timeout=0.2)
    answer = timeline.first_answer(record.id)
    assert answer is not None, "never acknowledged"
    return Timed(InteractionResult(world.env, record), answer[0] - started, answer[1])


async def settle(world: World) -> None:
    """Let every piece of work finish. SimCord first re-raises, once each, the TimeoutErrors
    the operations under the lock left behind."""
    for _ in range(10):
        try:
            await world.env.settle(timeout=30)
            return
        except TimeoutError:
            continue
    raise AssertionError("the bot did not settle once the lock was released")


@dataclass
class UnderTheLock:
    """What was asked while another process held the lock, each with its answer."""

    fresh: Timed  # /explore of a curated map's first open in the server
    from_list: Timed  # the same from /maps
    opened: Timed  # a known concept opened
    copy: Timed  # another member's private copy of a second one
    new: Timed  # /explore of a new topic
    still_locked: bool  # the lock was still held after the last one was asked
    curated: str  # the topic opened from /maps
    card: Any  # the AI Agents card the concepts were opened on

    @property
    def asked(self) -> list[Timed]:
        return [self.fresh, self.from_list, self.opened, self.copy, self.new]


async def ask_while_locked(
    world: World, kinapse: Kinapse, timeline: Timeline, seconds: float
) -> UnderTheLock:
    """Five interactions asked while another process holds the database's write lock for
    ``seconds``; each measured on the real clock from asking to its first response."""
    bundled = kinapse.bundled.find("ai agents")
    first, second = bundled.concepts[0], bundled.concepts[1]
    card = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    listing = (await world.bob.slash(world.channel, "maps")).response
    curated, curated_button = next(
        (entry.split(". ", 1)[1], button)
        for entry, button in sections(listing)
        if entry.split(". ", 1)[1] not in ("AI Agents", "Macroeconomics")
    )

    with locked_by_another_process(kinapse.settings.database, seconds=seconds):
        locked_at = real_time()
        # Two writes before any answer: a curated map's first open in the server, from
        # /explore and from /maps. Each is deferred as soon as the write has to wait.
        fresh = await timed(
            world, timeline, world.alice.slash(world.channel, "explore", topic="Macroeconomics")
        )
        from_list = await timed(
            world, timeline, world.bob.click(listing, custom_id=curated_button["custom_id"])
        )
        # Known content: answered from reads alone; a new topic: deferred at once. (Bob's
        # copy shows stored sub-concepts: one still to be mapped would start its generation
        # under the lock, and /explore Volcanoes would wait for the lock that starts
        # generations, a wait SimCord 3.2.1 cannot see through: it stops its clock, and the
        # writes polling for the database lock with it.)
        copy = await timed(world, timeline, click_open(world.bob, card, second.title))
        opened = await timed(world, timeline, click_open(world.alice, card, first.title))
        new = await timed(
            world, timeline, world.bob.slash(world.channel, "explore", topic="Volcanoes")
        )
        still_locked = real_time() - locked_at < seconds
    await settle(world)
    return UnderTheLock(fresh, from_list, opened, copy, new, still_locked, curated, card)


@pytest.mark.simcord(settle_timeout=OPERATION_WAIT)
@pytest.mark.parametrize("seconds", [2, 10])
async def test_every_interaction_is_answered_in_time_while_another_process_holds_the_lock(
    world: World, kinapse: Kinapse, timeline: Timeline, seconds: int
):
    first, second = kinapse.bundled.find("ai agents").concepts[:2]
    asked = await ask_while_locked(world, kinapse, timeline, seconds)
    fresh, from_list, opened, copy, new = asked.asked
    curated, still_locked, card = asked.curated, asked.still_locked, asked.card

    # Every one acknowledged in real time, far inside Discord's 3 s.
    assert max(one.answered_in for one in asked.asked) < 1.0
    if seconds == 10:
        assert still_locked  # all of them were asked while the lock was held
        assert fresh.kind == from_list.kind == DEFERRED  # acknowledged, answered later
    # Each ends as its card, once the lock is gone.
    assert heading(fresh.result.response) == "Macroeconomics"
    assert heading(from_list.result.response) == curated and from_list.result.ephemeral
    assert heading(opened.result.response) == first.title
    assert heading(copy.result.response) == second.title and copy.result.ephemeral
    assert heading(new.result.response) == "Volcanoes"
    # What waited for the lock was saved once it was free: the session moved, the open counted.
    session = await kinapse.storage.get_session(card.id)
    assert session is not None and session.history == [None]
    assert (await kinapse.storage.find_map(world.guild.id, "ai agents")).opened == 2
    for topic in ("macroeconomics", curated.casefold()):
        assert await kinapse.storage.find_map(world.guild.id, topic) is not None


@pytest.mark.simcord(settle_timeout=OPERATION_WAIT)
async def test_the_lock_test_sees_a_bot_that_answers_late(
    world: World, kinapse: Kinapse, timeline: Timeline, monkeypatch: pytest.MonkeyPatch
):
    """The test above can fail: a bot that does not acknowledge first (no deferral when
    a write waits for the lock, none at 2 s) answers when the lock goes, and is measured
    so. (Stamped by SimCord's virtual clock, its answers came hours "early".)"""

    async def never(*_: Any, **__: Any) -> None:
        return None

    monkeypatch.setattr(in_time_module, "acknowledge", never)  # a write waits: no deferral
    monkeypatch.setattr(in_time_module, "patience", lambda _interaction: 60.0)  # nor at 2 s
    asked = await ask_while_locked(world, kinapse, timeline, seconds=2)

    late = max(one.answered_in for one in asked.asked)
    assert late >= 1.0  # the bot's late answer is seen
    assert late < 3.0 + OPERATION_WAIT  # once the 2 s lock went, not "never"


async def test_a_full_disk_still_opens_stored_maps_and_says_so_for_new_work(
    world: World, kinapse: Kinapse
):
    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]
    card = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    big = "A sentence long enough to need room on disk. " * 19
    kinapse.generator.maps["volcanoes"] = kinapse.generator.maps.get("volcanoes") or _big_map(big)
    await full_disk(kinapse.storage)

    # Stored maps still open and navigate, even when the session cannot be saved.
    opened = (await click_open(world.alice, card, first.title)).response
    assert heading(opened) == first.title
    copy = (await click_open(world.bob, opened, first.children[0].title)).response
    assert heading(copy) == first.children[0].title
    again = (await world.bob.slash(world.channel, "explore", topic="AI Agents")).response
    assert heading(again) == "AI Agents"

    # New work gets a clear message.
    curated = await world.alice.slash(world.channel, "explore", topic="Macroeconomics")
    assert "storage is full" in curated.response.content
    new = (await world.alice.slash(world.channel, "explore", topic="Volcanoes")).response
    assert new.content.startswith("Couldn't map *Volcanoes*: The bot's storage is full")
    assert labels(new) == ["Retry"]

    # Space freed: everything works again without a restart, and no token went unrecorded.
    await free_disk(kinapse.storage)
    retried = (await world.alice.click(new, label="Retry")).response
    assert heading(retried) == "Volcanoes"
    assert "Couldn't" not in card_text(retried)
    usage = await kinapse.storage.usage_since(world.guild.id, 0)
    # Every call: the sub-concepts and the map stored nowhere, then the map stored.
    assert usage.calls == kinapse.generator.call_count == 3
    assert [type(e.__cause__) for e in world.env.errors] == [StorageFull]


def _big_map(detail: str):
    from bot.models import ConceptDraft, MapDraft

    return MapDraft(
        overview="Volcanoes are openings in the crust. Magma reaches the surface through them.",
        concepts=[
            ConceptDraft(title=f"Volcano part {n}", summary=f"Part {n}.", detail=detail[:900])
            for n in range(1, 6)
        ],
    )


async def test_a_database_another_process_is_writing_to_opens_at_once(
    world: World, kinapse: Kinapse
):
    """Starting needs no write when the schema is current: a bot restarted while another
    process holds the write lock serves what is stored instead of waiting for it."""
    path = kinapse.settings.database
    with locked_by_another_process(path):
        started = real_time()
        async with open_storage(path) as storage:
            opened_in = real_time() - started
            assert (await storage.find_map(world.guild.id, "ai agents")) is None
            assert await storage.get_meta(COMMANDS_HASH_KEY) is not None
    assert opened_in < 1.0


async def test_commands_synced_while_the_disk_is_full_are_synced_again_later(
    world: World, kinapse: Kinapse, caplog: pytest.LogCaptureFixture
):
    bot = kinapse.bot
    assert bot is not None
    await kinapse.storage.set_meta(COMMANDS_HASH_KEY, "an older definition")
    await full_disk(kinapse.storage)
    for size in (500, 50, 1):  # the pages already there fill up too, to the last byte
        with contextlib.suppress(StorageFull):
            for n in range(1000):
                await kinapse.storage.set_meta(f"filler {size} {n}", "x" * size)
    await bot.sync_commands()  # synced; remembering it fails, quietly
    assert "Could not remember the app commands just synced" in caplog.text
    assert await kinapse.storage.get_meta(COMMANDS_HASH_KEY) == "an older definition"
    await free_disk(kinapse.storage)
    await bot.sync_commands()
    assert await kinapse.storage.get_meta(COMMANDS_HASH_KEY) not in (None, "an older definition")


def slow_down(monkeypatch: pytest.MonkeyPatch, explorer: Any, *names: str) -> None:
    """Each of the explorer's ``names`` takes 5 s more (a slow disk, a table another
    session locked), in SimCord's time."""
    for name in names:
        real = getattr(explorer, name)

        async def slow(*args: Any, _real: Any = real) -> Any:
            await asyncio.sleep(5)
            return await _real(*args)

        monkeypatch.setattr(explorer, name, slow)


@pytest.fixture
def slow_reads(kinapse: Kinapse, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a click reads takes 5 s or 10 (opening a concept reads its view too)."""
    slow_down(monkeypatch, kinapse.explorer.concepts, "opening", "concept_view")


def first_response_type(world: World, result: InteractionResult) -> int:
    marker = f"/interactions/{result._interaction.id}/"
    callbacks = [e for e in world.env.backend.http_requests if e.path.startswith(marker)]
    return callbacks[0].json["type"]


async def test_a_click_whose_reads_are_slow_is_acknowledged_in_time_and_answered_in_place(
    world: World, kinapse: Kinapse, slow_reads: None
):
    first = kinapse.bundled.find("ai agents").concepts[0]
    card = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    pressed = await click_open(world.alice, card, first.title)
    await world.env.advance_time(11)

    assert first_response_type(world, pressed) == DEFERRED_UPDATE  # at 2 s, not 5
    assert pressed.response.id == card.id and heading(pressed.response) == first.title
    session = await kinapse.storage.get_session(card.id)
    assert session is not None and session.concept_id is not None  # the session moved


async def test_a_slow_private_copy_follows_its_acknowledgement_and_leaves_the_card(
    world: World, kinapse: Kinapse, slow_reads: None
):
    first = kinapse.bundled.find("ai agents").concepts[0]
    card = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    pressed = await click_open(world.bob, card, first.title)
    await world.env.advance_time(11)

    assert first_response_type(world, pressed) == DEFERRED_UPDATE
    [copy] = pressed.followups
    assert copy.ephemeral and heading(copy) == first.title
    public = world.env.backend.get_message(world.channel.id, card.id)
    assert heading(public) == "AI Agents"  # Alice's card did not move
    back = (await world.bob.click(copy, label="Back")).response
    assert back.id == copy.id and heading(back) == "AI Agents"  # bob drives his copy


async def test_the_ask_form_that_cannot_open_in_time_says_to_press_again(
    world: World, kinapse: Kinapse, slow_reads: None
):
    first = kinapse.bundled.find("ai agents").concepts[0]
    card = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    opened = await click_open(world.alice, card, first.title)
    await world.env.advance_time(11)
    pressed = await world.alice.click(opened.response, label="Ask")
    await world.env.advance_time(11)

    assert pressed.modal is None
    [said] = pressed.followups
    assert said.ephemeral and said.content == FORM_TOO_LATE


async def test_an_ask_form_submitted_while_reads_are_slow_is_acknowledged_and_answered(
    world: World, kinapse: Kinapse, monkeypatch: pytest.MonkeyPatch
):
    first = kinapse.bundled.find("ai agents").concepts[0]
    card = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    opened = (await click_open(world.alice, card, first.title)).response
    form = await world.alice.click(opened, label="Ask")
    slow_down(monkeypatch, kinapse.explorer.concepts, "concept_view")  # once the form is open

    answered = await world.alice.submit_modal(form, {"question": "Why does it matter?"})
    await world.env.advance_time(11)

    assert first_response_type(world, answered) == DEFERRED  # "thinking…" at 2 s, not 5
    assert answered.ephemeral and "Why does it matter?" in card_text(answered.response)
    assert "Share" in labels(answered.response)  # the answer took its place


async def test_commands_whose_reads_are_slow_are_acknowledged_privately_and_answered(
    world: World, kinapse: Kinapse, monkeypatch: pytest.MonkeyPatch
):
    """/maps and /export read before they answer: when that is slow they say "thinking…"
    to the member alone in time, then the answer takes its place, privately."""
    slow_down(monkeypatch, kinapse.explorer.library, "maps_page", "map_tree")
    listing = await world.alice.slash(world.channel, "maps")
    exported = await world.alice.slash(world.channel, "export", topic="AI Agents", format="json")
    await world.env.advance_time(6)

    for result in (listing, exported):
        assert first_response_type(world, result) == DEFERRED and result.ephemeral
    assert sections(listing.response)[0][0].startswith("1. ")  # the maps, in its place
    [file] = exported.response.attachments
    assert file.filename.endswith(".json") and exported.response.ephemeral

"""Drilling into concepts, Back/Up/Overview, restarts and other people's clicks."""

from __future__ import annotations

import asyncio

import discord

from bot.models import ChildState
from tests.support.harness import (
    COMPONENTS_V2_FLAG,
    Kinapse,
    World,
    card_text,
    click_open,
    components_of,
    concept_lines,
    custom_ids,
    heading,
    labels,
    open_id,
    small_lines,
    texts,
)


async def explore(world: World, topic: str = "AI Agents"):
    result = await world.alice.slash(world.channel, "explore", topic=topic)
    return result.response


async def test_map_concept_subconcept_back_up_overview(world: World, kinapse: Kinapse):
    bundled = kinapse.bundled.find("ai agents")
    first, second = bundled.concepts[0], bundled.concepts[1]
    message = await explore(world)

    opened = await click_open(world.alice, message, first.title)
    card = opened.response
    assert card.id == message.id and not card.ephemeral  # moved in place
    assert heading(card) == first.title
    assert small_lines(card)[0] == "AI Agents"
    assert first.summary in card_text(card) and first.detail[:60] in card_text(card)
    assert concept_lines(card) == [
        f"{n} · {c.title}" for n, c in enumerate(first.children, start=1)
    ]
    assert labels(card)[-8:] == [
        "Back",
        "Up",
        "Overview",
        "Map",
        "Ask",
        "Quiz",
        "Remember",
        "Discuss",
    ]

    sub = first.children[0]
    deeper = (await click_open(world.alice, card, sub.title)).response
    assert heading(deeper) == sub.title
    assert small_lines(deeper)[0] == f"AI Agents › {first.title}"

    up = (await world.alice.click(deeper, label="Up")).response
    assert heading(up) == first.title

    back = (await world.alice.click(up, label="Back")).response
    assert heading(back) == sub.title  # Back returns to where Up came from

    home = (await world.alice.click(back, label="Overview")).response
    assert heading(home) == "AI Agents"
    assert concept_lines(home)[1] == f"2 · {second.title}"
    assert "2 of" in small_lines(home)[-1]  # two concepts opened so far

    again = (await world.alice.click(home, label="Back")).response
    assert heading(again) == sub.title


async def test_buttons_work_after_a_restart_and_back_still_returns(world: World, kinapse: Kinapse):
    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]
    message = await explore(world)
    card = (await click_open(world.alice, message, first.title)).response
    sub_id = open_id(card, first.children[1].title)

    await kinapse.restart(world.env)

    deeper = (await world.alice.click(card, custom_id=sub_id)).response
    assert heading(deeper) == first.children[1].title
    back = (await world.alice.click(deeper, label="Back")).response
    assert heading(back) == first.title
    back = (await world.alice.click(back, label="Back")).response
    assert heading(back) == "AI Agents"


async def test_another_members_click_opens_a_private_copy(world: World, kinapse: Kinapse):
    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]
    message = await explore(world)
    before = await kinapse.storage.get_session(message.id)

    result = await click_open(world.bob, message, first.title)

    copy = result.response
    assert result.ephemeral and copy.ephemeral and copy.id != message.id
    assert heading(copy) == first.title
    public = world.env.backend.get_message(world.channel.id, message.id)
    assert heading(public) == "AI Agents"
    assert await kinapse.storage.get_session(message.id) == before

    # Bob moves his copy in place; Back returns to what the public card showed.
    sub = (await click_open(world.bob, copy, first.children[0].title)).response
    assert sub.id == copy.id and heading(sub) == first.children[0].title
    assert heading((await world.bob.click(sub, label="Back")).response) == first.title
    assert heading((await world.bob.click(sub, label="Back")).response) == "AI Agents"
    assert await kinapse.storage.get_session(message.id) == before


async def test_unexpanded_concept_opens_at_once_then_fills_in(world: World, kinapse: Kinapse):
    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]
    gate = kinapse.generator.gate = asyncio.Event()
    message = await explore(world)
    card = (await click_open(world.alice, message, first.title)).response
    sub = first.children[0]

    click = asyncio.ensure_future(click_open(world.alice, card, sub.title))
    await kinapse.generator.entered.wait()
    shown = world.env.backend.get_message(world.channel.id, message.id)
    assert heading(shown) == sub.title
    assert "Mapping sub-concepts" in card_text(shown)
    gate.set()
    filled = (await click).response

    assert "Mapping" not in card_text(filled)
    assert concept_lines(filled) == [f"{n} · {sub.title} / sub {n}" for n in (1, 2, 3)]
    assert kinapse.generator.call_count == 1
    request = kinapse.generator.calls[0].request
    assert [c.title for c in request.path] == [first.title, sub.title]
    assert set(request.siblings) == {c.title for c in first.children[1:]}


async def test_failed_generation_says_so_and_retry_works(world: World, kinapse: Kinapse):
    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]
    kinapse.generator.fail_with("Claude is overloaded right now; please try again.")
    message = await explore(world)
    card = (await click_open(world.alice, message, first.title)).response
    failed = (await click_open(world.alice, card, first.children[0].title)).response
    assert "Claude is overloaded right now" in card_text(failed)
    assert "Retry" in labels(failed)
    key = await kinapse.storage.find_map(world.guild.id, "ai agents")
    first_row = (await kinapse.storage.key_concepts(key.id))[0]
    child = (await kinapse.storage.children(first_row.id))[0]
    stored = await kinapse.storage.get_concept(child.id)
    assert stored.state is ChildState.UNEXPANDED  # nothing half-generated is stored

    kinapse.generator.failure = None
    retried = (await world.alice.click(failed, label="Retry")).response
    assert retried.id == message.id
    assert len(concept_lines(retried)) == 3
    assert "Retry" not in labels(retried)
    assert (await kinapse.storage.get_concept(child.id)).state is ChildState.EXPANDED


async def test_thirty_subconcepts_are_all_reachable_within_limits(world: World, kinapse: Kinapse):
    from bot.models import Expansion
    from tests.support.fakes import draft

    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]
    sub = first.children[0]
    many = [
        draft(f"{'Very long concept title number':.50} {n:02d}", "S" * 160, "D. " * 290)
        for n in range(1, 31)
    ]
    kinapse.generator.expansions[sub.title] = Expansion.model_construct(leaf=False, concepts=many)
    message = await explore(world)
    card = (await click_open(world.alice, message, first.title)).response
    full = (await click_open(world.alice, card, sub.title)).response

    ids = custom_ids(full)
    buttons = [i for i in ids if i.startswith("kin:open:")]
    menus = [c for c in components_of(full) if c["type"] == 3]
    assert len(menus) == 1 and len(buttons) + len(menus[0]["options"]) == 30
    assert len(components_of(full)) <= 40
    reachable = concept_lines(full) + [o["label"] for o in menus[0]["options"]]
    assert [int(label.split(" · ")[0]) for label in reachable] == list(range(1, 31))

    picked = await world.alice.select(full, [menus[0]["options"][-1]["value"]])
    assert heading(picked.response).endswith("30")


async def test_mentions_and_markdown_in_a_topic_ping_nobody(world: World, kinapse: Kinapse):
    topic = "@everyone <@&1> **bold** _it_"
    result = await world.alice.slash(world.channel, "explore", topic=topic)
    card = result.response
    assert heading(card) == topic  # escaped, so shown as typed
    assert r"## @everyone <@&1> \*\*bold\*\* \_it\_" in texts(card)[0]
    callbacks = [r.json for r in world.env.http_requests if r.path.endswith("/callback")]
    assert callbacks[-1]["type"] == 5  # deferred: a new topic is generated after the ack
    # The world fixture checks that every message said allowed_mentions: parse nothing.


async def test_generated_text_with_mentions_is_shown_literally(world: World, kinapse: Kinapse):
    from bot.models import MapDraft
    from tests.support.fakes import draft

    kinapse.generator.maps["pings"] = MapDraft(
        overview="Hello @everyone and <@123> and @here. **Loud** text.",
        concepts=[draft(f"<@&{n}> role {n}") for n in range(1, 5)],
    )
    card = (await world.alice.slash(world.channel, "explore", topic="Pings")).response
    overview = texts(card)[0]
    assert "@everyone" in overview and r"\*\*Loud\*\*" in overview
    assert concept_lines(card)[0] == "1 · <@&1> role 1"


async def test_a_lost_session_is_rebuilt_for_the_member_the_card_answered(
    world: World, kinapse: Kinapse
):
    # As after a kill between sending the card and storing its session.
    bundled = kinapse.bundled.find("ai agents")
    message = await explore(world)
    async with kinapse.storage.transaction() as db:
        await db.execute("DELETE FROM sessions")

    opened = await click_open(world.alice, message, bundled.concepts[0].title)

    assert not opened.ephemeral and opened.response.id == message.id  # still hers to move
    session = await kinapse.storage.get_session(message.id)
    assert session.owner_id == world.alice.id and session.history == [None]
    back = (await world.alice.click(opened.response, label="Back")).response
    assert heading(back) == "AI Agents"


def old_embed_card(card) -> dict:
    """What /explore posted before cards were V2: an embed, and rows of buttons
    with the same custom_ids (kin:open:<id>, ...)."""
    embed = discord.Embed(title="AI Agents", description="The overview, as an embed.")
    embed.set_footer(text="Curated map · 0 of 30 concepts explored")
    view = discord.ui.View(timeout=None)
    for number, control in enumerate(card.controls, start=1):
        embed.add_field(name=f"{number} · concept", value="its summary", inline=False)
        view.add_item(discord.ui.Button(label=f"{number} · concept", custom_id=control.custom_id))
    return {"embed": embed, "view": view}


async def test_a_press_on_an_old_embed_card_turns_it_into_the_v2_card(
    world: World, kinapse: Kinapse, monkeypatch
):
    from bot.ui.flows import new_topic

    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]
    monkeypatch.setattr(new_topic, "message_kwargs", old_embed_card)
    old = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    other = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    monkeypatch.undo()
    assert old.embeds and not old.flags.value & COMPONENTS_V2_FLAG
    assert labels(old)[0] == "1 · concept"

    pressed = await world.alice.click(old, label="1 · concept")

    card = pressed.response
    assert card.id == old.id and not card.ephemeral  # the owner's card, moved in place
    stored = world.env.backend.get_message(world.channel.id, old.id)
    assert stored.flags & COMPONENTS_V2_FLAG
    assert not stored.embeds and not stored.content
    assert heading(card) == first.title and first.summary in card_text(card)
    assert labels(card)[-8:] == [
        "Back",
        "Up",
        "Overview",
        "Map",
        "Ask",
        "Quiz",
        "Remember",
        "Discuss",
    ]
    back = (await world.alice.click(card, label="Back")).response
    assert heading(back) == "AI Agents" and concept_lines(back)[0] == f"1 · {first.title}"

    # Someone else's press on an old card: a private V2 copy; the old card stays as it was.
    copy = (await world.bob.click(other, label="2 · concept")).response
    assert copy.ephemeral and heading(copy) == bundled.concepts[1].title
    assert copy.flags.value & COMPONENTS_V2_FLAG and not copy.embeds
    untouched = world.env.backend.get_message(world.channel.id, other.id)
    assert untouched.embeds and untouched.embeds[0]["title"] == "AI Agents"

"""Drilling into concepts, Back/Up/Overview, restarts and other people's clicks."""

from __future__ import annotations

import asyncio

from bot.models import ChildState
from tests.harness import Kinapse, World


def labels(message) -> list[str]:
    return [c.get("label") for row in message.components for c in row["components"]]


def custom_ids(message) -> list[str]:
    return [c.get("custom_id") for row in message.components for c in row["components"]]


async def explore(world: World, topic: str = "AI Agents"):
    result = await world.alice.slash(world.channel, "explore", topic=topic)
    return result.response


async def test_map_concept_subconcept_back_up_overview(world: World, kinapse: Kinapse):
    bundled = kinapse.bundled.find("ai agents")
    first, second = bundled.concepts[0], bundled.concepts[1]
    message = await explore(world)

    opened = await world.alice.click(message, label=f"1 · {first.title}")
    card = opened.response
    assert card.id == message.id and not card.ephemeral  # moved in place
    embed = card.embeds[0]
    assert embed.title == first.title
    assert embed.author.name == "AI Agents"
    assert first.summary in embed.description and first.detail[:60] in embed.description
    assert [f.name for f in embed.fields] == [
        f"{n} · {c.title}" for n, c in enumerate(first.children, start=1)
    ]
    assert labels(card)[-3:] == ["Back", "Up", "Overview"]

    sub = first.children[0]
    deeper = (await world.alice.click(card, label=f"1 · {sub.title}")).response
    assert deeper.embeds[0].title == sub.title
    assert deeper.embeds[0].author.name == f"AI Agents › {first.title}"

    up = (await world.alice.click(deeper, label="Up")).response
    assert up.embeds[0].title == first.title

    back = (await world.alice.click(up, label="Back")).response
    assert back.embeds[0].title == sub.title  # Back returns to where Up came from

    home = (await world.alice.click(back, label="Overview")).response
    assert home.embeds[0].title == "AI Agents"
    assert home.embeds[0].fields[1].name == f"2 · {second.title}"
    assert "2 of" in home.embeds[0].footer.text  # two concepts opened so far

    again = (await world.alice.click(home, label="Back")).response
    assert again.embeds[0].title == sub.title


async def test_buttons_work_after_a_restart_and_back_still_returns(world: World, kinapse: Kinapse):
    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]
    message = await explore(world)
    card = (await world.alice.click(message, label=f"1 · {first.title}")).response
    sub_label = f"2 · {first.children[1].title}"

    await kinapse.restart(world.env)

    deeper = (await world.alice.click(card, label=sub_label)).response
    assert deeper.embeds[0].title == first.children[1].title
    back = (await world.alice.click(deeper, label="Back")).response
    assert back.embeds[0].title == first.title
    back = (await world.alice.click(back, label="Back")).response
    assert back.embeds[0].title == "AI Agents"


async def test_another_members_click_opens_a_private_copy(world: World, kinapse: Kinapse):
    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]
    message = await explore(world)
    before = await kinapse.storage.get_session(message.id)

    result = await world.bob.click(message, label=f"1 · {first.title}")

    copy = result.response
    assert result.ephemeral and copy.ephemeral and copy.id != message.id
    assert copy.embeds[0].title == first.title
    public = world.env.backend.get_message(world.channel.id, message.id)
    assert public.embeds[0]["title"] == "AI Agents"
    assert await kinapse.storage.get_session(message.id) == before

    # Bob moves his copy in place; Back returns to what the public card showed.
    sub = (await world.bob.click(copy, label=f"1 · {first.children[0].title}")).response
    assert sub.id == copy.id and sub.embeds[0].title == first.children[0].title
    assert (await world.bob.click(sub, label="Back")).response.embeds[0].title == first.title
    assert (await world.bob.click(sub, label="Back")).response.embeds[0].title == "AI Agents"
    assert await kinapse.storage.get_session(message.id) == before


async def test_unexpanded_concept_opens_at_once_then_fills_in(world: World, kinapse: Kinapse):
    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]
    gate = kinapse.generator.gate = asyncio.Event()
    message = await explore(world)
    card = (await world.alice.click(message, label=f"1 · {first.title}")).response
    sub = first.children[0]

    click = asyncio.ensure_future(world.alice.click(card, label=f"1 · {sub.title}"))
    await kinapse.generator.entered.wait()
    shown = world.env.backend.get_message(world.channel.id, message.id)
    assert shown.embeds[0]["title"] == sub.title
    assert "Mapping sub-concepts" in shown.embeds[0]["description"]
    gate.set()
    filled = (await click).response

    embed = filled.embeds[0]
    assert "Mapping" not in embed.description
    assert [f.name for f in embed.fields] == [f"{n} · {sub.title} / sub {n}" for n in (1, 2, 3)]
    assert kinapse.generator.call_count == 1
    request = kinapse.generator.calls[0].request
    assert [c.title for c in request.path] == [first.title, sub.title]
    assert set(request.siblings) == {c.title for c in first.children[1:]}


async def test_failed_generation_says_so_and_retry_works(world: World, kinapse: Kinapse):
    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]
    kinapse.generator.fail_with("Claude is overloaded right now; please try again.")
    message = await explore(world)
    card = (await world.alice.click(message, label=f"1 · {first.title}")).response
    failed = (await world.alice.click(card, label=f"1 · {first.children[0].title}")).response
    assert "Claude is overloaded right now" in failed.embeds[0].description
    assert "Retry" in labels(failed)
    key = await kinapse.storage.find_map(world.guild.id, "ai agents")
    first_row = (await kinapse.storage.key_concepts(key.id))[0]
    child = (await kinapse.storage.children(first_row.id))[0]
    stored = await kinapse.storage.get_concept(child.id)
    assert stored.state is ChildState.UNEXPANDED  # nothing half-generated is stored

    kinapse.generator.failure = None
    retried = (await world.alice.click(failed, label="Retry")).response
    assert retried.id == message.id
    assert len(retried.embeds[0].fields) == 3
    assert "Retry" not in labels(retried)
    assert (await kinapse.storage.get_concept(child.id)).state is ChildState.EXPANDED


async def test_thirty_subconcepts_are_all_reachable_within_limits(world: World, kinapse: Kinapse):
    from bot.models import Expansion
    from tests.fakes import draft

    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]
    sub = first.children[0]
    many = [
        draft(f"{'Very long concept title number':.50} {n:02d}", "S" * 160, "D. " * 290)
        for n in range(1, 31)
    ]
    kinapse.generator.expansions[sub.title] = Expansion.model_construct(leaf=False, concepts=many)
    message = await explore(world)
    card = (await world.alice.click(message, label=f"1 · {first.title}")).response
    full = (await world.alice.click(card, label=f"1 · {sub.title}")).response

    ids = custom_ids(full)
    buttons = [i for i in ids if i.startswith("kin:open:")]
    menus = [c for row in full.components for c in row["components"] if c["type"] == 3]
    assert len(buttons) == 15 and len(menus) == 1
    assert len(menus[0]["options"]) == 15
    reachable = [
        b["label"]
        for row in full.components
        for b in row["components"]
        if b["type"] == 2 and b["custom_id"].startswith("kin:open:")
    ]
    reachable += [o["label"] for o in menus[0]["options"]]
    assert [int(label.split(" · ")[0]) for label in reachable] == list(range(1, 31))

    picked = await world.alice.select(full, [menus[0]["options"][-1]["value"]])
    assert picked.response.embeds[0].title.endswith("30")


async def test_mentions_and_markdown_in_a_topic_ping_nobody(world: World, kinapse: Kinapse):
    topic = "@everyone <@&1> **bold** _it_"
    result = await world.alice.slash(world.channel, "explore", topic=topic)
    card = result.response
    assert card.embeds[0].title == r"@everyone <@&1> \*\*bold\*\* \_it\_"
    callbacks = [r.json for r in world.env.http_requests if r.path.endswith("/callback")]
    assert callbacks[-1]["type"] == 5  # deferred: a new topic is generated after the ack
    # The world fixture checks that every message said allowed_mentions: parse nothing.


async def test_generated_text_with_mentions_is_shown_literally(world: World, kinapse: Kinapse):
    from bot.models import MapDraft
    from tests.fakes import draft

    kinapse.generator.maps["pings"] = MapDraft(
        overview="Hello @everyone and <@123> and @here. **Loud** text.",
        concepts=[draft(f"<@&{n}> role {n}") for n in range(1, 5)],
    )
    card = (await world.alice.slash(world.channel, "explore", topic="Pings")).response
    embed = card.embeds[0]
    assert "@everyone" in embed.description and r"\*\*Loud\*\*" in embed.description
    assert embed.fields[0].name == "1 · <@&1> role 1"


async def test_a_lost_session_is_rebuilt_for_the_member_the_card_answered(
    world: World, kinapse: Kinapse
):
    # As after a kill between sending the card and storing its session.
    bundled = kinapse.bundled.find("ai agents")
    message = await explore(world)
    async with kinapse.storage.transaction() as db:
        await db.execute("DELETE FROM sessions")

    opened = await world.alice.click(message, label=f"1 · {bundled.concepts[0].title}")

    assert not opened.ephemeral and opened.response.id == message.id  # still hers to move
    session = await kinapse.storage.get_session(message.id)
    assert session.owner_id == world.alice.id and session.history == [None]
    back = (await world.alice.click(opened.response, label="Back")).response
    assert back.embeds[0].title == "AI Agents"

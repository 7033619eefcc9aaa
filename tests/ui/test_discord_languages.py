"""Every language the server speaks, through SimCord: the commands Discord is told carry
their names and descriptions in every shipped language, and a member sees the bot's
buttons and messages in their own client's language."""

from __future__ import annotations

import json
from collections.abc import Iterator

import discord
import pytest

from bot.config import PROJECT_ROOT
from bot.i18n import shipped
from tests.support import standin as s
from tests.support.harness import (
    Kinapse,
    World,
    card_text,
    click_open,
    concept_lines,
    custom_ids,
    heading,
    labels,
    small_lines,
)
from tests.support.locales import Locales

SHIPPED = set(shipped())
FIXTURES = PROJECT_ROOT / "tests" / "fixtures"


def synced(world: World) -> list[dict]:
    [sync] = [
        r for r in world.env.http_requests if r.method == "PUT" and r.path.endswith("/commands")
    ]
    return sync.json


def named(commands: list[dict]) -> Iterator[dict]:
    """Every command, group, subcommand and option: everything with a name."""
    for command in commands:
        yield command
        yield from named(command.get("options") or [])


async def test_the_synced_commands_carry_every_shipped_language(world: World):
    commands = synced(world)
    assert {c["name"] for c in commands} >= {"explore", "maps", "export", "kinapse"}
    for item in named(commands):
        assert set(item["name_localizations"]) >= SHIPPED, item["name"]
        assert set(item["description_localizations"]) >= SHIPPED, item["name"]
        for choice in item.get("choices") or []:
            assert set(choice["name_localizations"]) >= SHIPPED, choice["name"]
    explore = next(c for c in commands if c["name"] == "explore")
    assert explore["name_localizations"]["de"] == "erkunden"
    assert explore["name_localizations"]["ja"] == "探索"
    assert explore["description_localizations"]["fr"] == (
        "Explorer un sujet, ou ton propre fichier ou ta page, sous forme de carte conceptuelle à "
        "parcourir."
    )


async def test_a_french_member_sees_buttons_and_messages_in_french_and_the_map_as_it_is(
    world: World, kinapse: Kinapse, locales: Locales
):
    """Alice's Discord is in French; the server speaks English, so the map stays English."""
    locales.users[world.alice.id] = "fr"
    bundled = kinapse.bundled.find("ai agents")
    first = bundled.concepts[0]

    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    assert heading(message) == "AI Agents"
    assert bundled.overview in card_text(message)
    assert set(labels(message)) == {"Ouvrir", "Demander", "Quiz", "Sources"}
    assert small_lines(message)[-1].startswith("Collection · à jour en ")
    assert small_lines(message)[-1].endswith(" explorés sur 31")

    opened = (await click_open(world.alice, message, first.title)).response
    assert heading(opened) == first.title
    assert labels(opened)[-8:] == [
        *("Retour", "Remonter", "Vue d'ensemble", "Carte", "Demander"),
        *("Quiz", "Retenir", "Discuter"),
    ]

    # Bob's Discord is in English: his own copy of the card speaks English.
    bob = await world.bob.click(opened, custom_id=custom_ids(opened)[-6])  # Overview
    assert bob.ephemeral and "Open" in labels(bob.response)

    # A reply to a command, and the Ask form, in French too.
    missing = await world.alice.slash(world.channel, "export", topic="Rien", format="json")
    assert len(world.env.errors) == 1  # answered by the tree's error handler
    assert missing.response.content == (
        "Il n'existe pas encore de carte nommée Rien\u00a0; explore-la d'abord avec /explorer."
    )
    form = await world.alice.click(opened, custom_id=custom_ids(opened)[-4])  # Ask
    assert form.modal["title"] == f"Question sur {first.title}"[:45]


# -- content in the server's language ------------------------------------------------

MAPS = json.loads((FIXTURES / "maps_in_ten_languages.json").read_text("utf-8"))
AI_AGENTS_JA = json.loads((FIXTURES / "ai_agents_ja.json").read_text("utf-8"))


def japanese_server(world: World, locales: Locales, name: str = "日本のサーバー") -> tuple:
    """A server whose preferred locale is Japanese, and a member of it."""
    guild = world.env.create_guild(name=name, preferred_locale="ja")
    locales.guilds[guild.id] = "ja"
    member = guild.add_member(world.env.create_user(f"member of {name}"))
    return guild.create_text_channel("general"), member


@pytest.mark.anthropic
async def test_a_japanese_server_maps_a_new_topic_in_one_call(
    world: World, kinapse: Kinapse, standin: s.StandIn, locales: Locales
):
    channel, member = japanese_server(world, locales)
    written = MAPS["ja"]
    standin.script(s.answer({"kind": "map", **written}))

    card = (await member.slash(channel, "explore", topic=written["title"])).response

    assert len(standin.requests) == 1  # no repair: 。 ends its sentences
    assert "<language>Japanese (ja)</language>" in standin.requests[0].prompt
    assert heading(card) == "金利"
    assert written["overview"] in card_text(card)
    assert [line.split(" · ", 1)[1] for line in concept_lines(card)] == [
        c["title"] for c in written["concepts"]
    ]


@pytest.mark.anthropic
async def test_a_curated_map_is_translated_once_for_every_server_of_a_language(
    world: World, kinapse: Kinapse, standin: s.StandIn, locales: Locales
):
    bundled = kinapse.bundled.find("ai agents")
    channel, member = japanese_server(world, locales)
    standin.script(s.answer({"kind": "map", **AI_AGENTS_JA["top"]}))

    card = (await member.slash(channel, "explore", topic="AI Agents")).response

    assert len(standin.requests) == 1
    assert "<language>Japanese (ja)</language>" in standin.requests[0].prompt
    assert heading(card) == "AIエージェント"
    assert AI_AGENTS_JA["top"]["overview"] in card_text(card)
    footer = small_lines(card)[-1]
    assert footer.startswith(f"Curated · as of {bundled.as_of}")  # its date kept
    assert "translated by Claude from the curated English map" in footer

    # Another Japanese server: the stored translation, no call.
    other_channel, other = japanese_server(world, locales, "二つ目")
    again = (await other.slash(other_channel, "explore", topic="AI Agents")).response
    assert len(standin.requests) == 1
    assert heading(again) == "AIエージェント"
    # The translated title finds it too.
    by_title = (await other.slash(other_channel, "explore", topic="AIエージェント")).response
    assert heading(by_title) == "AIエージェント" and len(standin.requests) == 1

    # A key concept's curated sub-concepts: translated when first opened (one call).
    children = AI_AGENTS_JA["what_makes_an_agent"]
    standin.script(s.answer({"kind": "subconcepts", **children}))
    first = AI_AGENTS_JA["top"]["concepts"][0]["title"]
    opened = (await click_open(member, card, first)).response
    await world.env.settle()
    # The translated key concept is still the curated file's: its date, not "Written by".
    assert small_lines(opened)[-1].startswith(f"Curated · as of {bundled.as_of}")
    assert len(standin.requests) == 2
    assert "エージェントの条件" in standin.requests[1].prompt  # the path, translated
    assert bundled.concepts[0].children[0].title in standin.requests[1].prompt  # the English
    shown = await kinapse.explorer.concepts.concept_view(
        await _first_concept(kinapse, channel.guild.id)
    )
    assert [c.title for c in shown.children] == [c["title"] for c in children["concepts"]]


async def _first_concept(kinapse: Kinapse, scope: int) -> int:
    stored = await kinapse.explorer.topics.find_stored(scope, "AI Agents")
    view = await kinapse.explorer.concepts.map_view(stored.id)
    return view.concepts[0].id


@pytest.mark.no_generator
async def test_without_a_key_a_curated_map_is_shown_as_written_and_says_why(
    world: World, kinapse: Kinapse, locales: Locales
):
    channel, member = japanese_server(world, locales)
    card = (await member.slash(channel, "explore", topic="AI Agents")).response
    assert heading(card) == "AI Agents"
    assert (
        "This curated map is in English; translating it into Japanese needs an Anthropic "
        "API key." in small_lines(card)
    )


@pytest.mark.anthropic
async def test_a_french_member_of_a_japanese_server_sees_french_buttons_on_a_japanese_map(
    world: World, kinapse: Kinapse, standin: s.StandIn, locales: Locales
):
    """The map is written in the server's language (its preferred locale, Japanese); the
    buttons, footer and replies in the member's own (French)."""
    channel, member = japanese_server(world, locales)
    locales.users[member.id] = "fr"
    written = MAPS["ja"]
    standin.script(s.answer({"kind": "map", **written}))

    card = (await member.slash(channel, "explore", topic=written["title"])).response

    assert "<language>Japanese (ja)</language>" in standin.requests[0].prompt
    assert heading(card) == "金利" and written["overview"] in card_text(card)
    assert set(labels(card)) == {"Ouvrir", "Demander", "Quiz", "Sources"}
    assert small_lines(card)[-1].startswith("Écrit par ")  # "Written by"
    assert "explorés sur" in small_lines(card)[-1]
    missing = await member.slash(channel, "export", topic="Rien", format="json")
    assert len(world.env.errors) == 1  # answered by the tree's error handler
    assert missing.response.content.startswith("Il n'existe pas encore de carte nommée Rien")


async def test_a_server_that_never_chose_a_language_speaks_its_preferred_locale(
    world: World, kinapse: Kinapse, locales: Locales
):
    """No /kinapse settings language: the server's preferred locale (French) is its
    language, for new maps, their sub-concepts and answers; once chosen, the setting wins."""
    locales.guilds[world.guild.id] = "fr"
    card = (await world.alice.slash(world.channel, "explore", topic="Photosynthèse")).response
    assert kinapse.generator.calls[-1].kind == "map"
    assert kinapse.generator.calls[-1].language == "fr"
    await world.env.settle()
    first = concept_lines(card)[0].split(" · ", 1)[1]
    await click_open(world.alice, card, first)
    await world.env.settle()
    assert kinapse.generator.calls[-1].kind == "expand"
    assert kinapse.generator.calls[-1].language == "fr"

    role = world.guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    admin = world.guild.add_member(world.env.create_user("root"), roles=[role])
    shown = await admin.slash(world.channel, "kinapse settings")
    assert shown.response.content.startswith("Language: **French** · ")  # admin reads English

    await admin.slash(world.channel, "kinapse settings", language="de")
    await world.alice.slash(world.channel, "explore", topic="Quantenphysik")
    assert kinapse.generator.calls[-1].language == "de"


async def test_a_quiz_speaks_the_servers_language_and_each_member_is_answered_in_theirs(
    world: World, kinapse: Kinapse, locales: Locales
):
    """A round's cards are public, the server's: French in a French server, even after a
    restart; the private reply to an answer is in the member's own language (English)."""
    kinapse.explorer.clock = lambda: world.env.now().timestamp()  # deadlines on SimCord's clock
    guild = world.env.create_guild(name="Serveur", preferred_locale="fr")
    locales.guilds[guild.id] = "fr"
    channel = guild.create_text_channel("general")
    starter = guild.add_member(world.env.create_user("starter"))
    bob = guild.add_member(world.env.create_user("bob"))

    card = (await starter.slash(channel, "quiz", topic="AI Agents", questions=1)).response
    assert "question 1 sur 1" in card_text(card)
    assert "Révéler maintenant" in labels(card)
    question = int(next(i for i in custom_ids(card) if i.startswith("kin:qa:")).split(":")[2])
    right = (await kinapse.storage.get_question(question)).correct
    reply = await bob.click(card, custom_id=f"kin:qa:{question}:{right}")
    assert reply.ephemeral and "Everyone sees the answers" in card_text(reply.response)

    await kinapse.restart(world.env)
    kinapse.explorer.clock = lambda: world.env.now().timestamp()
    await world.env.advance_time(31)
    revealed = card_text(world.env.backend.get_message(channel.id, card.id))
    assert "Bonne réponse\u00a0: bob" in revealed
    assert "Manche terminée" in revealed


async def test_a_french_members_review_deck_is_in_french(
    world: World, kinapse: Kinapse, locales: Locales
):
    """Remember and /review answer a French member in French, and the card's front is
    written in French when it is added (it is theirs: the deck and its Anki export)."""
    locales.users[world.alice.id] = "fr"
    concept = kinapse.bundled.find("ai agents").concepts[0]
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    card = (await click_open(world.alice, message, concept.title)).response
    pressed = await world.alice.click(card, label="Retenir")
    assert "ajouté à ton paquet de révision" in pressed.response.content

    review = (await world.alice.slash(world.channel, "review")).response
    front = f"Qu'est-ce que «\u00a0{concept.title}\u00a0» dans AI Agents, et pourquoi"
    assert front in card_text(review)
    assert "1 à revoir · 1 dans ton paquet" in card_text(review)
    assert labels(review) == ["Voir la réponse", "Mon paquet"]

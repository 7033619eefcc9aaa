"""/explore with a member's own material: a file attached to the command (PDF, text,
Markdown) or a web page's address, mapped with every concept citing where in the material
its idea is.

Everything before the card is private: the checks of the file (answered at once), the
progress while Claude reads it, and what stands in the way (an unsupported type, a PDF
with no text, a page that can't be fetched...), so a member's mistake is never posted in
the channel. The card itself is posted in the channel, saying what it was made from.

The bot downloads an attachment from Discord's CDN only (``Materials.check_attachment``);
a page is fetched by the Anthropic API's web fetch tool, never by the bot.
"""

from __future__ import annotations

import logging
from functools import partial

import discord

from bot.errors import BadMaterial, KinapseError
from bot.explore import MaterialMap, page_label, shown_name
from bot.generator import Sketch
from bot.i18n import N_, _
from bot.ui import cards
from bot.ui.cards.material import language_shown, made_from
from bot.ui.context import Interaction, scope_of
from bot.ui.flows.map_cards import Drawn, map_card, picture_later
from bot.ui.layout import line, message_kwargs
from bot.ui.live import LiveEdits
from bot.ui.replies import explain
from bot.ui.respond import acknowledge, edit_finally, edit_once, send_text

log = logging.getLogger(__name__)

# Said in the member's language where they are shown (``bot.i18n``).
BOTH = N_("Give a file or a link, not both.")
READING = N_("Reading {name} and mapping it…")
QUEUED = N_("Queued: other maps are being generated right now; {name} is next in line…")
POSTED = N_("Mapped {name}: the card is in the channel.")
KNOWN = N_("{name} was mapped here before: the card is in the channel.")
LANGUAGE_NOTE = N_(
    "{name} is written in {written}; the map is in {language}, this server's language."
)
FAILED = N_("Couldn't map {name}: {why}")
NOT_POSTED = N_("Mapped {name}, but the card could not be posted here; find it in /maps.")


async def explore_material(
    interaction: Interaction,
    topic: str | None,
    file: discord.Attachment | None,
    url: str | None,
) -> None:
    """Map ``file`` or the page at ``url`` (of ``topic`` as the material treats it, when
    given); the card in the channel, everything else privately."""
    explorer = interaction.client.explorer
    materials = explorer.materials
    try:
        if file is not None and url is not None:
            raise KinapseError(BOTH)
        if file is not None:
            # Before anything is downloaded: from Discord's CDN, a kind Kinapse maps, in size.
            materials.check_attachment(file.filename, file.content_type, file.size, file.url)
            name = f"*{cards.literal(shown_name(file.filename))}*"
        else:
            assert url is not None
            materials.check_link(url)  # only checked: the API's fetch tool opens it
            name = cards.literal(page_label(url.strip().strip("<>")))
    except KinapseError as exc:
        await send_text(interaction, _(exc.message))  # privately, before anyone waits
        return
    await acknowledge(interaction, thinking=True, ephemeral=True)
    await edit_once(interaction, **line(_(READING, name=name)))
    live = LiveEdits(partial(edit_once, interaction))

    def grow(sketch: Sketch) -> None:
        if sketch.overview or sketch.concepts:
            title = sketch.title or topic or "…"
            live.offer(**message_kwargs(cards.sketch_card(title, sketch), edit=True))

    async def say_queued() -> None:
        await edit_once(interaction, **line(_(QUEUED, name=name)))

    scope = scope_of(interaction)
    user = interaction.user.id
    try:
        if file is not None:
            data = await file.read()
            made = await materials.map_file(
                scope,
                user,
                file.filename,
                file.content_type,
                data,
                topic=topic,
                on_queued=say_queued,
                on_progress=grow,
            )
        else:
            assert url is not None
            made = await materials.map_page(
                scope, user, url, topic=topic, on_queued=say_queued, on_progress=grow
            )
        drawn = await map_card(interaction, await explorer.concepts.map_view(made.map.id))
    except Exception as exc:
        await live.settle()
        why = explain(interaction, exc)
        # A file's own problem names the file already.
        text = why if isinstance(exc, BadMaterial) else _(FAILED, name=name, why=why)
        await edit_finally(interaction, **line(text, v2=live.edits > 0))
        return
    await live.settle()
    await _post(interaction, made, drawn, v2=live.edits > 0)


async def _post(interaction: Interaction, made: MaterialMap, drawn: Drawn, *, v2: bool) -> None:
    """The card in the channel, with a session for its owner; the private message says so."""
    explorer = interaction.client.explorer
    name = made_from(made.material)
    try:
        message = await interaction.followup.send(wait=True, **message_kwargs(drawn.card))
    except discord.HTTPException as exc:
        # Stored all the same: /explore of its title opens it next time.
        log.warning("Could not post the card of a material map: %s", exc)
        text = _(NOT_POSTED, name=name)
        await edit_finally(interaction, **line(text, v2=v2))
        return
    text = _(KNOWN if made.existing else POSTED, name=name)
    if made.material.language:
        written = cards.literal(language_shown(made.material.language))
        language = language_shown(made.map.language)
        text += " " + _(LANGUAGE_NOTE, name=name, written=written, language=language)
    await edit_finally(interaction, **line(text, v2=v2))
    explorer.sessions.start(
        message_id=message.id,
        owner_id=interaction.user.id,
        scope=scope_of(interaction),
        map_id=made.map.id,
        concept_id=None,
    )
    await picture_later(interaction, drawn, message.id)

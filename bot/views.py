"""Buttons and menus that outlive the process: DynamicItems carrying ids only.

Each callback checks, acknowledges, calls the explore core and renders. The
person who ran /explore moves the public message in place; anyone else gets a
private copy of the card they clicked, with a session of their own.
"""

from __future__ import annotations

import asyncio
import io
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import discord

from bot import cards
from bot.cards import Action, Card, Control, Status
from bot.errors import ChooseMeaning, NoGenerator, NotFound
from bot.explorer import ConceptView, MapView, View
from bot.generator import Sketch
from bot.models import QUESTION_MAX, QUESTION_MIN, Session, clean_question
from bot.render import MapPicture, RenderError
from bot.replies import answering, explain, reply_error
from bot.storage import lock_wait_listener
from bot.text import shorten

log = logging.getLogger(__name__)

T = TypeVar("T")
V = TypeVar("V", discord.ui.View, discord.ui.LayoutView)

Interaction = discord.Interaction["KinapseBot"]
# A row id or page number: ids are all a custom_id carries. 18 digits keep any
# forged value inside SQLite's 64-bit integers.
ID_DIGITS = 18
ID = rf"[0-9]{{1,{ID_DIGITS}}}"
# A card waits this long for its map picture before it is sent without one (the
# render goes on, and the next card of the map has it). Well within the 3 s in
# which Discord wants an interaction answered.
PICTURE_WAIT_SECONDS = 2.0
# Before retries were stored, a failed new topic's Retry carried the topic itself.
TOPIC_RETRY_PREFIX = "kin:topic:"
RETRY_LABEL = "Retry"
# A card that must end as the map or an error is edited this many times before giving up.
EDIT_ATTEMPTS = 3
EDIT_PAUSE = 0.5  # seconds between those attempts
# Discord's window for the first response is 3 seconds; an answer not ready 2 seconds
# after the interaction was created is deferred and edited in later.
ACK_AFTER = 2.0
FORM_TOO_LATE = "The question form couldn't open in time; please press Ask again."
TRUSTED_LAG = 1.0  # seconds of gateway delay believed from the interaction's timestamp
MAPPING = "Mapping *{topic}*…"
QUEUED = "Queued: other maps are being generated right now; *{topic}* is next in line…"
# A streamed answer is edited onto its reply at most this often, and once at the end.
STREAM_EDIT_INTERVAL = 1.0
FORM_TITLE_MAX = 45  # Discord's limits on a modal's title, a label's text and description
LABEL_TEXT_MAX = 45
LABEL_DESCRIPTION_MAX = 100


def scope_of(interaction: discord.Interaction) -> int:
    """Whose maps and expansions these are: the server's where Kinapse is installed in it;
    the member's own in DMs, group DMs, and servers where only they installed it (the
    server's shared maps are not the bot's to write there)."""
    if interaction.guild_id is None:
        return interaction.user.id
    if interaction.is_user_integration() and not interaction.is_guild_integration():
        return interaction.user.id
    return interaction.guild_id


def maps_title(interaction: discord.Interaction) -> str:
    """The heading of /maps: whose maps they are."""
    if scope_of(interaction) == interaction.user.id:
        return "Your maps"
    name = interaction.guild.name if interaction.guild else None
    return f"Maps in {name}" if name else "This server's maps"


def unkept(view: V) -> V:
    """``view``, finished before it is sent, so discord.py does not keep it.

    Every button and menu is a DynamicItem, answered from its custom_id alone
    (after a restart as before it). Kept, a private card's view would hold a
    task and a 15-minute timer each, for nothing.
    """
    view.stop()
    return view


def layout(card: Card) -> discord.ui.LayoutView:
    """The card as a V2 layout; its buttons work for as long as the message exists."""
    container = discord.ui.Container(accent_colour=card.accent)
    for block in card.blocks:
        container.add_item(_item(block))
    view = discord.ui.LayoutView(timeout=None)
    view.add_item(container)
    return unkept(view)


def _item(block: cards.Block) -> discord.ui.Item[Any]:
    if isinstance(block, cards.Text):
        return discord.ui.TextDisplay(block.content)
    if isinstance(block, cards.Section):
        return discord.ui.Section(block.content, accessory=_control(block.button))
    if isinstance(block, cards.Row):
        return discord.ui.ActionRow(*(_control(control) for control in block.controls))
    if isinstance(block, cards.Picture):
        media = f"attachment://{block.filename}"
        return discord.ui.MediaGallery(
            discord.MediaGalleryItem(media, description=block.description)
        )
    return discord.ui.Separator()


def _control(control: Control) -> discord.ui.Item[Any]:
    return CardSelect(control) if control.options else CardButton(control)


def message_kwargs(card: Card, *, edit: bool = False) -> dict[str, Any]:
    """Keyword arguments that send the card, or with ``edit`` put it on an existing message.

    An edit clears the content and embeds the message may carry (a card posted
    as an embed before V2, or a "Mapping…" line): Discord rejects a V2 message
    that still has them. It also replaces the attachments, so a map picture
    leaves with the card that showed it.
    """
    kwargs: dict[str, Any] = {"view": layout(card)}
    files = [discord.File(io.BytesIO(p.data), filename=p.filename) for p in _pictures(card)]
    if edit:
        kwargs |= {"content": None, "embeds": [], "attachments": files}
    elif files:
        kwargs["files"] = files
    return kwargs


def _pictures(card: Card) -> list[cards.Picture]:
    return [block for block in card.blocks if isinstance(block, cards.Picture)]


class CardButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=(
        rf"kin:(?P<action>open|back|up|home|retry|maps|map|curated|picture|ask|askmap|share|meaning"
        rf"|topicretry):(?P<target>{ID})"
    ),
):
    def __init__(self, control: Control) -> None:
        super().__init__(
            discord.ui.Button(
                label=control.label,
                style=control.style,
                custom_id=control.custom_id,
                disabled=control.disabled,
            )
        )
        self.action = control.action
        self.target = control.target

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> CardButton:
        control = Control(Action(match["action"]), int(match["target"]), item.label or "")
        return cls(control)

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        await run_safely(interaction, HANDLERS[self.action], self.target)


class CardSelect(discord.ui.DynamicItem[discord.ui.Select], template=rf"kin:pick:(?P<parent>{ID})"):
    def __init__(self, control: Control) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=control.custom_id,
                placeholder=control.label,
                options=[
                    discord.SelectOption(label=label, value=str(concept_id), description=about)
                    for concept_id, label, about in control.options
                ],
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Select, match: re.Match[str], /
    ) -> CardSelect:
        options = tuple((int(o.value), o.label, o.description or "") for o in item.options)
        return cls(Control(Action.PICK, int(match["parent"]), "", options=options))

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        values = (interaction.data or {}).get("values") or []
        if not values or not re.fullmatch(ID, str(values[0])):
            await reply_error(interaction, NotFound("Pick a concept from the menu."))
            return
        await run_safely(interaction, open_concept, int(values[0]))


class TopicRetry(
    discord.ui.DynamicItem[discord.ui.Button], template=rf"{TOPIC_RETRY_PREFIX}(?P<topic>.+)"
):
    """The Retry of a new topic as it was before retries were stored: the custom_id carries
    the topic itself. Such buttons stay on Discord for good, so they keep working; new ones
    carry a stored retry's id (``Action.RETRY_TOPIC``), but for the rare failure that
    storage cannot record either (see ``retry_button``)."""

    def __init__(self, topic: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=RETRY_LABEL,
                style=discord.ButtonStyle.primary,
                custom_id=f"{TOPIC_RETRY_PREFIX}{topic}",
            )
        )
        self.topic = topic

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> TopicRetry:
        return cls(match["topic"])

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        try:
            await retry_typed_topic(interaction, self.topic)
        except Exception as exc:
            await reply_error(interaction, exc)


async def run_safely(interaction: Interaction, handler: Any, target: int) -> None:
    """Run a handler; every failure becomes a short private reply (DynamicItem errors are
    otherwise only logged, leaving the user with "This interaction failed"), and an
    answer that is not ready in time is acknowledged first (``answered_in_time``)."""
    async with answered_in_time(interaction, thinking=False, ephemeral=False):
        try:
            await handler(interaction, target)
        except Exception as exc:
            await reply_error(interaction, exc)


@asynccontextmanager
async def answered_in_time(
    interaction: Interaction, *, thinking: bool, ephemeral: bool
) -> AsyncIterator[None]:
    """Whatever holds the answer up inside the block (a database that is slow or locked
    by another process), Discord hears from the bot in time: ``ACK_AFTER`` seconds after
    the interaction was created, one still unanswered is acknowledged (``thinking``, and
    ``ephemeral`` for a command whose answer is private; a button's message is edited
    later), and the answer follows (``answer_in_place``, ``answer_privately``)."""
    late = asyncio.create_task(_acknowledge_if_late(interaction, thinking, ephemeral))
    try:
        yield
    finally:
        if answering(interaction).locked():
            await late  # acknowledging this very moment: cut off, it could answer twice
        else:
            late.cancel()


async def _acknowledge_if_late(interaction: Interaction, thinking: bool, ephemeral: bool) -> None:
    await asyncio.sleep(patience(interaction))
    async with answering(interaction):
        if not interaction.response.is_done():
            log.info("Interaction %s acknowledged before its answer was ready", interaction.id)
            await _defer(interaction, thinking=thinking, ephemeral=ephemeral)


def patience(interaction: Interaction) -> float:
    """Seconds left until the interaction should have had a first response."""
    lag = (discord.utils.utcnow() - interaction.created_at).total_seconds()
    # A lag beyond TRUSTED_LAG is a clock out of step, not a slow gateway.
    return ACK_AFTER - min(max(lag, 0.0), TRUSTED_LAG)


# -- sessions ------------------------------------------------------------------


async def session_for(
    interaction: Interaction,
    shown: int | None = None,
    map_id: int | None = None,
    *,
    parent_of: int | None = None,
) -> Session | None:
    """The session of the clicked message, rebuilt from the message if it was never stored.

    ``shown`` is the concept the clicked card shows (None: the overview of
    ``map_id``), or the parent of the concept ``parent_of`` for a click that
    opens it. They are read only to rebuild a missing session, whose owner is
    the user the message answered; a rebuilt session is saved after the answer.
    """
    explorer = interaction.client.explorer
    message = interaction.message
    assert message is not None
    session = await explorer.storage.get_session(message.id)
    if session is not None:
        return session
    metadata = message.interaction_metadata
    if metadata is None:
        return None
    if parent_of is not None:
        opened = await explorer.storage.get_concept(parent_of)
        if opened is not None:
            shown, map_id = opened.parent_id, opened.map_id
    if map_id is None:
        map_id = await _map_of(interaction, shown)
    if map_id is None:
        return None
    return Session(
        message_id=message.id,
        owner_id=metadata.user.id,
        scope=scope_of(interaction),
        map_id=map_id,
        concept_id=shown,
    )


async def _map_of(interaction: Interaction, concept_id: int | None) -> int | None:
    if concept_id is None:
        return None
    concept = await interaction.client.explorer.storage.get_concept(concept_id)
    return concept.map_id if concept else None


# -- rendering -------------------------------------------------------------------


async def render(
    interaction: Interaction, view: View, session: Session | None, status: Status | None = None
) -> Card:
    if isinstance(view, MapView):
        return await map_card(interaction, view, can_go_back=bool(session and session.history))
    return cards.concept_card(view, status)


async def map_card(interaction: Interaction, view: MapView, *, can_go_back: bool = False) -> Card:
    """The map card with its picture: this version's if drawn, else the one drawn last
    (this version is drawn meanwhile, for the next card), else the first if ready in time."""
    explorer = interaction.client.explorer
    current = explorer.map_picture(view.map)  # drawn now unless it was
    shown = None if current.done() else explorer.earlier_picture(view.map)
    current.cancel()  # this wait only: the drawing goes on for whoever asks next
    if shown is None:
        shown = await picture_within(interaction, view, PICTURE_WAIT_SECONDS)
    return cards.map_card(view, can_go_back=can_go_back, picture=shown)


async def picture_within(
    interaction: Interaction, view: View, seconds: float | None
) -> MapPicture | None:
    """The map's picture with the view's concept highlighted (the topic for a map view);
    None when it is not ready within ``seconds`` or cannot be drawn (logged)."""
    highlight = view.concept.id if isinstance(view, ConceptView) else None
    picture = interaction.client.explorer.map_picture(view.map, highlight)
    try:
        return await asyncio.wait_for(picture, seconds)
    except TimeoutError:
        log.info("The picture of map %s was not ready in %s s", view.map.id, seconds)
    except RenderError as exc:
        log.warning("No picture for map %s: %s", view.map.id, exc)
    return None


def initial_status(interaction: Interaction, view: View) -> Status:
    explorer = interaction.client.explorer
    if isinstance(view, ConceptView) and explorer.needs_expansion(view):
        if explorer.generator is None:
            return Status(no_generator=True)
        return Status(mapping=True)
    return Status()


async def show(
    interaction: Interaction,
    session: Session | None,
    target: int | None,
    view: View,
    *,
    moved: bool = False,
    opened: int | None = None,
) -> None:
    """Put ``view`` on screen: in place for the message's owner, privately for anyone else.

    The owner's session moves to ``target`` (remembered for Back) unless the
    caller already ``moved`` it (Back, Up and Overview move it themselves).
    Nothing is written before the answer: the session and the count of the
    concept ``opened`` are saved in one transaction after it, and only if the
    answer reached Discord (a failed answer does not move the member's session).
    """
    explorer = interaction.client.explorer
    status = initial_status(interaction, view)
    if session is not None and session.owner_id == interaction.user.id:
        if not moved:
            session = explorer.moved(session, target)
        card = await render(interaction, view, session, status)
        await answer_in_place(interaction, card)
        message_id = session.message_id
    else:
        # A private copy with a session of its own; Back from it returns to
        # what the public card showed.
        history = [session.concept_id] if session is not None else []
        card = await render(interaction, view, None, status)
        message_id = await answer_privately(interaction, card)
        if message_id is None:
            return
        session = Session(
            message_id=message_id,
            owner_id=interaction.user.id,
            scope=scope_of(interaction),
            map_id=view.map.id,
            concept_id=target,
            history=history,
        )
    await quietly("save the session", explorer.remember(session, opened=opened))
    if status.mapping and isinstance(view, ConceptView):
        await fill_in_subconcepts(interaction, message_id, view, session)


async def answer_in_place(interaction: Interaction, card: Card) -> None:
    """``card`` on the message whose button was pressed: as the interaction's response,
    or, once the interaction was acknowledged, as an edit."""
    fields = message_kwargs(card, edit=True)
    async with answering(interaction):
        if not interaction.response.is_done():
            await interaction.response.edit_message(**fields)
            return
    await interaction.edit_original_response(**fields)


async def answer_privately(interaction: Interaction, card: Card) -> int | None:
    """``card`` for the presser alone; the id of its message. Once acknowledged, it fills
    the "thinking…" message (``in_time``) or follows an acknowledgement in place."""
    async with answering(interaction):
        if not interaction.response.is_done():
            sent = await interaction.response.send_message(ephemeral=True, **message_kwargs(card))
            return sent.message_id
    if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
        message = await edit_finally(interaction, **message_kwargs(card, edit=True))
        return message.id if message is not None else None
    followed = await interaction.followup.send(ephemeral=True, wait=True, **message_kwargs(card))
    return followed.id


async def fill_in_subconcepts(
    interaction: Interaction, message_id: int, shown: ConceptView, session: Session | None
) -> None:
    """Wait for the concept's sub-concepts and edit the card in place when they arrive.

    Whatever fails (the API, the database, an edit), the card ends with the
    sub-concepts or with an error and a Retry button, never stuck on "Mapping…".
    """
    explorer = interaction.client.explorer
    concept_id = shown.concept.id
    status = Status()

    async def say_queued() -> None:
        card = await render(interaction, shown, session, Status(queued=True))
        await edit_once(interaction, **message_kwargs(card, edit=True))

    async def still_here() -> bool:
        current = await explorer.storage.get_session(message_id)
        return current is None or current.concept_id == concept_id

    live = LiveEdits(interaction, still_here)

    def grow(sketch: Sketch) -> None:
        # Sub-concepts as they stream, on the card of everyone waiting on this concept.
        if sketch.concepts:
            growing = cards.concept_card(shown, Status(mapping=True, sketch=sketch))
            live.offer(**message_kwargs(growing, edit=True))

    view: View = shown
    try:
        view = await explorer.expand(
            scope_of(interaction),
            interaction.user.id,
            concept_id,
            on_queued=say_queued,
            on_progress=grow,
        )
    except Exception as exc:
        if isinstance(exc, NoGenerator):
            status = Status(no_generator=True)
        else:
            status = Status(error=explain(interaction, exc))
        try:
            view = await explorer.concept_view(concept_id)
        except Exception:
            log.warning("Could not read concept %s again after its expansion", concept_id)
    try:
        current = await explorer.storage.get_session(message_id)
    except Exception:
        # Unknown: finishing the card matters more than the rare reader who moved on.
        log.warning("Could not read the session of card %s", message_id, exc_info=True)
        current = session
    await live.settle()
    if current is not None and current.concept_id != concept_id:
        return  # the reader moved on; the card they see now is not this one
    card = await render(interaction, view, current, status)
    await edit_finally(interaction, **message_kwargs(card, edit=True))


async def edit_once(interaction: Interaction, **fields: Any) -> discord.Message | None:
    """Edit the interaction's message; a failure is logged, never raised: the work the
    edit reports on goes on without it."""
    try:
        return await interaction.edit_original_response(**fields)
    except discord.HTTPException as exc:
        log.warning("Could not edit the card of %s: %s", interaction.id, exc)
        return None


async def edit_finally(interaction: Interaction, **fields: Any) -> discord.Message | None:
    """The last edit of a card (its result or its error): tried again after a failure,
    unless the message or the interaction is gone."""
    for attempt in range(EDIT_ATTEMPTS):
        try:
            return await interaction.edit_original_response(**fields)
        except discord.NotFound:
            log.info("The card of interaction %s is gone; not edited", interaction.id)
            return None
        except discord.HTTPException as exc:
            log.warning(
                "Could not edit the card of %s (attempt %d): %s", interaction.id, attempt + 1, exc
            )
            if attempt + 1 < EDIT_ATTEMPTS:
                await asyncio.sleep(EDIT_PAUSE)
    return None


async def quietly(what: str, work: Awaitable[object]) -> None:
    """Storage work after the answer was shown: a failure is logged, the answer stands."""
    try:
        await work
    except Exception:
        log.warning("Could not %s after answering", what, exc_info=True)


async def acknowledge(interaction: Interaction, *, thinking: bool, ephemeral: bool = False) -> None:
    """Defer the interaction unless it was answered; a failure is logged, and the work goes
    on regardless."""
    async with answering(interaction):
        if not interaction.response.is_done():
            await _defer(interaction, thinking=thinking, ephemeral=ephemeral)


async def _defer(interaction: Interaction, *, thinking: bool, ephemeral: bool) -> None:
    try:
        await interaction.response.defer(thinking=thinking, ephemeral=ephemeral)
    except discord.HTTPException as exc:
        log.warning("Could not acknowledge interaction %s: %s", interaction.id, exc)


async def in_time(interaction: Interaction, work: Awaitable[T], *, ephemeral: bool = False) -> T:
    """``work``'s result, with the interaction deferred first if the answer will be late:
    at once when a write has to wait for another process's lock, else ``ACK_AFTER``
    seconds after the interaction was created (a slow disk or server, say). Discord's
    window for the first response is kept whatever the wait; a deferred answer is
    edited in (privately if ``ephemeral``).
    """
    contended = asyncio.Event()
    listening = lock_wait_listener.set(contended.set)
    try:
        task = asyncio.ensure_future(work)  # its context carries the listener
    finally:
        lock_wait_listener.reset(listening)
    told = asyncio.ensure_future(contended.wait())
    try:
        await asyncio.wait(
            {task, told}, timeout=patience(interaction), return_when=asyncio.FIRST_COMPLETED
        )
        if not task.done():
            why = "waits for another process's lock" if told.done() else "is slow"
            log.info("Interaction %s deferred: storage %s", interaction.id, why)
            await acknowledge(interaction, thinking=True, ephemeral=ephemeral)
        return await task
    finally:
        told.cancel()
        task.cancel()  # no-op once done; ends the work if the handler itself was cancelled


def _line(
    text: str, *, retry: discord.ui.Item[Any] | None = None, v2: bool = False
) -> dict[str, Any]:
    """One line of text (with its ``retry`` button) as message fields: plain content, or a
    V2 text display once the message is a V2 card, which Discord keeps V2 for good."""
    if not v2:
        buttons = None
        if retry is not None:
            buttons = discord.ui.View(timeout=None)
            buttons.add_item(retry)
            buttons = unkept(buttons)
        return {"content": text, "embeds": [], "view": buttons}
    view = discord.ui.LayoutView(timeout=None)
    container = discord.ui.Container(discord.ui.TextDisplay(text))
    if retry is not None:
        container.add_item(discord.ui.ActionRow(retry))
    view.add_item(container)
    return {"content": None, "embeds": [], "view": unkept(view)}


async def retry_button(
    interaction: Interaction, scope: int, topic: str, meaning: int | None
) -> discord.ui.Item[Any] | None:
    """The Retry of a new topic whose map failed: what it needs is stored, and the button
    carries the stored retry's id, so it works after a restart, for a topic of any length.

    When storage cannot take even that (a full disk), the button makes do without it: a
    chosen meaning's own button (ids only), or a topic short enough to ride in the
    custom_id as before retries were stored; a longer one gets no button (None).
    """
    explorer = interaction.client.explorer
    try:
        stored = await explorer.remember_retry(scope, topic, meaning_id=meaning)
        action, target = Action.RETRY_TOPIC, stored.id
    except Exception:
        log.warning("Could not store the retry of a failed map in %s", scope, exc_info=True)
        if meaning is None:
            fits = len(TOPIC_RETRY_PREFIX) + len(topic) <= cards.CUSTOM_ID_MAX
            return TopicRetry(topic) if fits else None
        action, target = Action.MEANING, meaning
    return CardButton(Control(action, target, RETRY_LABEL, discord.ButtonStyle.primary))


class LiveEdits:
    """Edits of one message while an answer streams, in llmcord's rhythm.

    At most one edit every ``STREAM_EDIT_INTERVAL`` seconds, and never more than
    one in flight: an update that arrives while an edit is under way or too soon
    after the last is skipped rather than queued behind Discord's rate limits.
    The caller always makes the final edit itself, after ``settle``.
    """

    def __init__(
        self, interaction: Interaction, still: Callable[[], Awaitable[bool]] | None = None
    ) -> None:
        self._interaction = interaction
        self._still = still  # asked before each edit: is the card still showing this?
        self._last = -math.inf
        self._editing: asyncio.Task[discord.Message | None] | None = None
        self.edits = 0

    def offer(self, **fields: Any) -> None:
        now = asyncio.get_running_loop().time()
        if self._editing is not None and not self._editing.done():
            return
        if now - self._last < STREAM_EDIT_INTERVAL:
            return
        self._last = now
        self.edits += 1
        self._editing = asyncio.create_task(self._edit(fields))

    async def _edit(self, fields: dict[str, Any]) -> discord.Message | None:
        try:
            if self._still is not None and not await self._still():
                return None
        except Exception:
            log.warning("Could not check a streaming card before editing it", exc_info=True)
            return None
        return await edit_once(self._interaction, **fields)

    async def settle(self) -> None:
        """Let an edit in flight land, so that it cannot overwrite the final one."""
        if self._editing is not None:
            await asyncio.wait({self._editing})


async def map_new_topic(
    interaction: Interaction, topic: str, *, meaning: int | None = None
) -> None:
    """Generate the map of a new topic on a "Mapping…" message that ends as the card, or as
    the error with a Retry button. Generation never depends on Discord: when the
    acknowledgement or an edit fails, the map is still generated and stored, so the next
    /explore of the topic is instant. With ``meaning`` (a stored meaning's id), ``topic`` is
    that meaning's qualified topic, and the typed one becomes its alias. A topic with
    several meanings ends as the card that asks which one is meant."""
    explorer = interaction.client.explorer
    scope = scope_of(interaction)
    shown = cards.literal(topic)
    # A slash command gets a new "thinking" message; a Retry click edits its own.
    await acknowledge(interaction, thinking=interaction.message is None)
    # A message that is already a V2 card (a Retry of a streamed map) can only stay one.
    v2 = interaction.message is not None and interaction.message.flags.components_v2
    await edit_once(interaction, **_line(MAPPING.format(topic=shown), v2=v2))
    live = LiveEdits(interaction)

    def grow(sketch: Sketch) -> None:
        # The card grows concept by concept; a sketch with nothing new to show is skipped.
        if sketch.overview or sketch.concepts:
            live.offer(**message_kwargs(cards.sketch_card(topic, sketch), edit=True))

    async def say_queued() -> None:
        await edit_once(interaction, **_line(QUEUED.format(topic=shown), v2=v2))

    try:
        if meaning is None:
            concept_map = await explorer.generate_map(
                scope, interaction.user.id, topic, on_queued=say_queued, on_progress=grow
            )
        else:
            concept_map = await explorer.choose_meaning(
                scope, interaction.user.id, meaning, on_queued=say_queued, on_progress=grow
            )
        card = await map_card(interaction, await explorer.map_view(concept_map.id))
    except ChooseMeaning as choice:
        await live.settle()
        card = cards.meanings_card(choice.topic, choice.choices)
        await edit_finally(interaction, **message_kwargs(card, edit=True))
        return
    except Exception as exc:
        await live.settle()
        text = f"Couldn't map *{shown}*: {explain(interaction, exc)}"
        button = await retry_button(interaction, scope, topic, meaning)
        if button is None:
            text += " Run /explore again to retry."
        await edit_finally(interaction, **_line(text, retry=button, v2=v2 or live.edits > 0))
        return
    await live.settle()
    message = await edit_finally(interaction, **message_kwargs(card, edit=True))
    if message is not None:
        await quietly(
            "save the session of a new map",
            explorer.start_session(
                message_id=message.id,
                owner_id=interaction.user.id,
                scope=scope,
                map_id=concept_map.id,
                concept_id=None,
            ),
        )


# -- handlers --------------------------------------------------------------------


async def open_concept(interaction: Interaction, concept_id: int) -> None:
    explorer = interaction.client.explorer
    session = await session_for(interaction, parent_of=concept_id)
    view = await explorer.opening(concept_id, scope_of(interaction))
    await show(interaction, session, concept_id, view, opened=concept_id)


async def show_picture(interaction: Interaction, concept_id: int) -> None:
    """The whole map with the concept highlighted: in place for the card's owner (its
    session stays on the concept, so Back returns to it), privately for anyone else."""
    explorer = interaction.client.explorer
    session = await session_for(interaction, concept_id)
    view = await explorer.concept_view(concept_id, scope_of(interaction))
    owner = session is not None and session.owner_id == interaction.user.id
    # A render can outlast Discord's 3 s: acknowledge first, then answer.
    await acknowledge(interaction, thinking=not owner, ephemeral=not owner)
    picture = await picture_within(interaction, view, None)
    if picture is None:
        raise NotFound("The map's picture could not be drawn just now; please try again.")
    card = cards.picture_card(view, picture)
    if owner:
        await interaction.edit_original_response(**message_kwargs(card, edit=True))
        return
    message_id = await answer_privately(interaction, card)
    if message_id is None:
        return
    await explorer.start_session(
        message_id=message_id,
        owner_id=interaction.user.id,
        scope=scope_of(interaction),
        map_id=view.map.id,
        concept_id=concept_id,
        history=[session.concept_id] if session is not None else [],
    )


async def retry(interaction: Interaction, concept_id: int) -> None:
    explorer = interaction.client.explorer
    session = await session_for(interaction, concept_id)
    view = await explorer.concept_view(concept_id, scope_of(interaction))
    await show(interaction, session, concept_id, view)


async def _navigate(
    interaction: Interaction, action: Action, shown: int | None, map_id: int | None = None
) -> None:
    explorer = interaction.client.explorer
    session = await session_for(interaction, shown, map_id)
    if session is not None and session.owner_id == interaction.user.id:
        if action is Action.BACK:
            session = await explorer.went_back(session)
        elif action is Action.UP:
            session = await explorer.went_up(session)
        else:
            session = explorer.moved(session, None)
        view = await explorer.view_of(session)
        await show(interaction, session, session.concept_id, view, moved=True)
        return
    # Someone else's card: a private copy of where the button leads from what it shows.
    target: int | None = None
    if map_id is None and session is not None:
        map_id = session.map_id
    if shown is not None:
        concept = await explorer.storage.get_concept(shown)
        if concept is None:
            raise NotFound("This concept no longer exists; run /explore again.")
        map_id = concept.map_id
        if action is not Action.HOME:
            target = concept.parent_id
    if target is not None:
        view: View = await explorer.concept_view(target, scope_of(interaction))
    elif map_id is not None:
        view = await explorer.map_view(map_id, scope_of(interaction))
    else:
        raise NotFound("This card is too old to follow; run /explore again.")
    await show(interaction, session, target, view)


async def back(interaction: Interaction, shown: int) -> None:
    await _navigate(interaction, Action.BACK, shown or None)


async def up(interaction: Interaction, shown: int) -> None:
    await _navigate(interaction, Action.UP, shown or None)


async def home(interaction: Interaction, map_id: int) -> None:
    await _navigate(interaction, Action.HOME, None, map_id)


async def maps_page(interaction: Interaction, page: int) -> None:
    shown = await interaction.client.explorer.maps_page(scope_of(interaction), page)
    card = cards.maps_card(shown, title=maps_title(interaction))
    await answer_in_place(interaction, card)


async def open_map(interaction: Interaction, map_id: int) -> None:
    """A /maps entry or a suggestion: the map's card in a private message of its own."""
    view = await interaction.client.explorer.map_view(map_id, scope_of(interaction))
    await show(interaction, None, None, view)


async def open_curated(interaction: Interaction, number: int) -> None:
    """The same for a bundled map the scope has not opened: copied into the scope first."""
    explorer = interaction.client.explorer
    # The first open in a server is a write: answered in time whatever the database does.
    opening = explorer.open_bundled(scope_of(interaction), number)
    concept_map = await in_time(interaction, opening, ephemeral=True)
    await show(interaction, None, None, await explorer.map_view(concept_map.id))


async def retry_topic(interaction: Interaction, retry_id: int) -> None:
    """Retry a new topic whose map failed, from the request stored for its button: a
    chosen meaning as if chosen again (so its alias is recorded), else the topic."""
    retry = await interaction.client.explorer.retry(scope_of(interaction), retry_id)
    if retry.meaning_id is not None:
        await choose_meaning(interaction, retry.meaning_id)
    else:
        await retry_typed_topic(interaction, retry.topic)


async def retry_typed_topic(interaction: Interaction, topic: str) -> None:
    # What stands in the way is answered privately; the error and its Retry stay.
    explorer = interaction.client.explorer
    await explorer.check_can_generate(scope_of(interaction), interaction.user.id, topic)
    await map_new_topic(interaction, topic)


async def choose_meaning(interaction: Interaction, meaning_id: int) -> None:
    """A meaning of an ambiguous topic, chosen by anyone: its map in place of the question,
    opened at once when it exists, else generated like any new topic."""
    explorer = interaction.client.explorer
    scope = scope_of(interaction)
    meaning = await explorer.meaning(scope, meaning_id)
    if await explorer.lookup(scope, meaning.qualified) is None:
        # What stands in the way is answered privately; the question stays for others.
        await explorer.check_can_generate(scope, interaction.user.id, meaning.qualified)
    await map_new_topic(interaction, meaning.qualified, meaning=meaning_id)


# -- questions ---------------------------------------------------------------------


# A form's custom_id carries the card it asks about, like a button's: its submission is
# answered from the id alone, even after a restart (see submit_form).
FORM_ID = re.compile(rf"kin:askform:(?P<kind>[cm]):(?P<target>{ID})")


class AskForm(discord.ui.Modal):
    """The Ask form: one question about the card it was opened from.

    discord.py keeps a sent form in memory only, so a reader who submits after a
    restart would get Discord's "Something went wrong". Instead the form is
    never kept (it is stopped before it is sent) and every submission goes
    through ``submit_form``, which needs nothing but the custom_id.
    """

    def __init__(
        self, subject: str, accent: int, *, concept_id: int | None, map_id: int | None
    ) -> None:
        kind, target = ("c", concept_id) if concept_id is not None else ("m", map_id)
        super().__init__(
            title=shorten(f"Ask about {subject}", FORM_TITLE_MAX),
            custom_id=f"kin:askform:{kind}:{target}",
        )
        self.stop()  # not kept by discord.py: submissions arrive through submit_form
        self.subject = subject
        self.accent = accent
        self.concept_id = concept_id
        self.map_id = map_id
        self.question: discord.ui.TextInput[AskForm] = discord.ui.TextInput(
            custom_id="question",
            style=discord.TextStyle.paragraph,
            min_length=QUESTION_MIN,
            max_length=QUESTION_MAX,
            placeholder="For example: why does this matter?",
        )
        about = shorten(f"About {subject}; only you see the answer.", LABEL_DESCRIPTION_MAX)
        self.add_item(
            discord.ui.Label(
                text=shorten("Your question", LABEL_TEXT_MAX),
                description=about,
                component=self.question,
            )
        )


async def submit_form(interaction: Interaction) -> None:
    """Answer a submitted Ask form from its custom_id and the question typed in it."""
    data = interaction.data or {}
    match = FORM_ID.fullmatch(str(data.get("custom_id", "")))
    if match is None:
        return  # not a Kinapse form
    try:
        question = _submitted(data.get("components") or [], "question")
        if question is None:
            raise NotFound("The form arrived without a question; press Ask again.")
        target = int(match["target"])
        explorer = interaction.client.explorer
        if match["kind"] == "c":
            view: View = await explorer.concept_view(target, scope_of(interaction))
            form = AskForm(
                view.concept.title, cards.accent_of(view.map.key), concept_id=target, map_id=None
            )
        else:
            view = await explorer.map_view(target, scope_of(interaction))
            form = AskForm(
                view.map.topic, cards.accent_of(view.map.key), concept_id=None, map_id=target
            )
        await answer_question(interaction, form, question)
    except Exception as exc:
        await reply_error(interaction, exc)


def _submitted(components: list[dict[str, Any]], custom_id: str) -> str | None:
    """The value typed into the form's input ``custom_id`` (inside labels or rows)."""
    for component in components:
        if component.get("custom_id") == custom_id and "value" in component:
            return str(component["value"])
        inner = list(component.get("components") or [])
        if isinstance(component.get("component"), dict):
            inner.append(component["component"])
        found = _submitted(inner, custom_id)
        if found is not None:
            return found
    return None


async def ask_about_concept(interaction: Interaction, concept_id: int) -> None:
    view = await interaction.client.explorer.concept_view(concept_id, scope_of(interaction))
    accent = cards.accent_of(view.map.key)
    form = AskForm(view.concept.title, accent, concept_id=concept_id, map_id=None)
    await open_form(interaction, form)


async def ask_about_map(interaction: Interaction, map_id: int) -> None:
    view = await interaction.client.explorer.map_view(map_id, scope_of(interaction))
    form = AskForm(view.map.topic, cards.accent_of(view.map.key), concept_id=None, map_id=map_id)
    await open_form(interaction, form)


async def open_form(interaction: Interaction, form: AskForm) -> None:
    """The Ask form, which can only be the first response: if the interaction had to be
    acknowledged before the card was read, the presser is asked to press again."""
    async with answering(interaction):
        if not interaction.response.is_done():
            await interaction.response.send_modal(form)
            return
    await interaction.followup.send(FORM_TOO_LATE, ephemeral=True)


async def answer_question(interaction: Interaction, form: AskForm, question: str) -> None:
    """Answer privately: the question at once, then the answer as it is written, then
    the whole answer with its Share button, or what stood in the way."""
    shown = clean_question(question)

    def card(answer: str | None = None, note: str = cards.WRITING_NOTE) -> Card:
        return cards.answer_card(form.subject, shown, answer=answer, note=note, accent=form.accent)

    # The submission is answered before anything slow, so the form never shows an error.
    await interaction.response.send_message(ephemeral=True, **message_kwargs(card()))
    last_edit = -math.inf

    async def on_text(text: str) -> None:
        nonlocal last_edit
        if time.monotonic() - last_edit >= STREAM_EDIT_INTERVAL:
            last_edit = time.monotonic()
            await _edit_answer(interaction, card(text))

    try:
        answered = await interaction.client.explorer.ask(
            scope_of(interaction),
            interaction.user.id,
            question,
            concept_id=form.concept_id,
            map_id=form.map_id,
            on_text=on_text,
            on_queued=lambda: _edit_answer(interaction, card(note=cards.QUEUED_ANSWER_NOTE)),
        )
    except Exception as exc:
        await _edit_answer(interaction, card(note=f"⚠️ {explain(interaction, exc)}"))
        return
    await _edit_answer(interaction, cards.answered_card(answered, can_share=True))


async def _edit_answer(interaction: Interaction, card: Card) -> None:
    try:
        await interaction.edit_original_response(**message_kwargs(card, edit=True))
    except discord.HTTPException:
        # Dismissed by the reader, or Discord refused: the answer is stored all the same.
        log.info("Could not update an answer in %s", interaction.guild_id, exc_info=True)


async def share(interaction: Interaction, answer_id: int) -> None:
    """Post an answer publicly in the channel, quoting its question and naming its card;
    the private answer's Share button greys out, so one press posts it once."""
    view = await interaction.client.explorer.answer_view(answer_id, scope_of(interaction))
    private = cards.answered_card(view, can_share=True, shared=True)
    await answer_in_place(interaction, private)
    await interaction.followup.send(**message_kwargs(cards.answered_card(view, can_share=False)))


HANDLERS = {
    Action.OPEN: open_concept,
    Action.RETRY: retry,
    Action.BACK: back,
    Action.UP: up,
    Action.HOME: home,
    Action.PAGE: maps_page,
    Action.MAP: open_map,
    Action.CURATED: open_curated,
    Action.PICTURE: show_picture,
    Action.ASK: ask_about_concept,
    Action.ASK_MAP: ask_about_map,
    Action.SHARE: share,
    Action.MEANING: choose_meaning,
    Action.RETRY_TOPIC: retry_topic,
}

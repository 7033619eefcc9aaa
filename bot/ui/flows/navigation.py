"""Walking a map: opening concepts, Back, Up, Overview, the Map picture, and a concept
whose sub-concepts arrive while its card is shown.

The person who ran /explore moves the public message in place; anyone else gets a
private copy of the card they pressed, with a session of their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

from bot.errors import NoGenerator, NotFound
from bot.explore import ConceptView, MapView, View
from bot.generator import Sketch
from bot.i18n import N_
from bot.models import Session
from bot.render import MapPicture, RenderError
from bot.ui import cards
from bot.ui.cards import Post, Status
from bot.ui.context import Interaction, scope_of
from bot.ui.deliver import answer_in_place, answer_privately
from bot.ui.flows.map_cards import Drawn, map_card, picture_later
from bot.ui.ids import Action
from bot.ui.items import route
from bot.ui.layout import message_kwargs
from bot.ui.live import LiveEdits
from bot.ui.replies import explain
from bot.ui.respond import acknowledge, edit_finally, edit_once

log = logging.getLogger(__name__)


@asynccontextmanager
async def pressing(interaction: Interaction) -> AsyncIterator[None]:
    """One member's presses on one message, one after another: the next reads the card
    as this one left it. A press that waits here is acknowledged in time all the same
    (``bot.ui.in_time``); work that outlasts the answer (sub-concepts being mapped, a
    map picture not drawn in time) runs after the block (``after_answer``)."""
    assert interaction.message is not None
    sessions = interaction.client.explorer.sessions
    async with sessions.turn(interaction.message.id, interaction.user.id):
        yield


@dataclass(frozen=True)
class AfterAnswer:
    """What a card shown by a press still waits for once the press's turn is over: its
    concept's sub-concepts being mapped (``mapping``), its map picture not drawn in time
    (``drawn.waits_for``)."""

    message_id: int
    session: Session
    drawn: Drawn
    mapping: ConceptView | None = None
    private: bool = False  # the card is its reader's alone (it offers Post in channel)


async def session_for(
    interaction: Interaction,
    shown: int | None = None,
    map_id: int | None = None,
    *,
    parent_of: int | None = None,
) -> Session | None:
    """The session of the clicked message (the newest this process recorded, else the
    stored one), rebuilt from the message if it was never stored.

    ``shown`` is the concept the clicked card shows (None: the overview of
    ``map_id``), or the parent of the concept ``parent_of`` for a click that
    opens it. They are read only to rebuild a missing session, whose owner is
    the user the message answered; a rebuilt session is recorded after the answer.
    """
    explorer = interaction.client.explorer
    message = interaction.message
    assert message is not None
    session = await explorer.sessions.get(message.id)
    if session is not None:
        return session
    metadata = message.interaction_metadata
    if metadata is None:
        return None
    if parent_of is not None:
        opened = await explorer.concepts.get(parent_of)
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
    concept = await interaction.client.explorer.concepts.get(concept_id)
    return concept.map_id if concept else None


async def render(
    interaction: Interaction,
    view: View,
    session: Session | None,
    status: Status | None = None,
    *,
    private: bool = False,
) -> Drawn:
    """The card of ``view``; ``private``: for its reader alone, with Post in channel (once
    a concept's sub-concepts are in: a card is posted whole)."""
    post = Post.OFFERED if private and not (status and status.mapping) else None
    if isinstance(view, MapView):
        can_go_back = bool(session and session.history)
        return await map_card(interaction, view, can_go_back=can_go_back, post=post)
    return Drawn(cards.concept_card(view, status, post=post))


async def picture_within(
    interaction: Interaction, view: ConceptView, seconds: float | None
) -> MapPicture | None:
    """The whole map's picture with the view's concept highlighted; None when it is not
    ready within ``seconds`` or cannot be drawn (logged)."""
    picture = interaction.client.explorer.pictures.of(view.map, view.concept.id)
    try:
        return await asyncio.wait_for(picture, seconds)
    except TimeoutError:
        log.info("The picture of map %s was not ready in %s s", view.map.id, seconds)
    except RenderError as exc:
        log.warning("No picture for map %s: %s", view.map.id, exc)
    return None


def initial_status(interaction: Interaction, view: View) -> Status:
    explorer = interaction.client.explorer
    if isinstance(view, ConceptView) and view.needs_expansion:
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
) -> AfterAnswer | None:
    """Put ``view`` on screen: in place for the message's owner, privately for anyone else;
    what the card still waits for, for ``after_answer`` once the press's turn is over.

    The owner's session moves to ``target`` (remembered for Back) unless the
    caller already ``moved`` it (Back, Up and Overview move it themselves).
    Nothing is written before the answer: the session and the count of the
    concept ``opened`` are recorded after it (in memory at once, written behind),
    and only if the answer reached Discord (a failed answer does not move the
    member's session).
    """
    explorer = interaction.client.explorer
    status = initial_status(interaction, view)
    if session is not None and session.owner_id == interaction.user.id:
        if not moved:
            session = explorer.sessions.moved(session, target)
        private = is_private(interaction)
        drawn = await render(interaction, view, session, status, private=private)
        await explorer.sessions.ready(session.message_id)
        await answer_in_place(interaction, drawn.card)
        message_id = session.message_id
    else:
        # A private copy with a session of its own; Back from it returns to
        # what the public card showed.
        history = [session.concept_id] if session is not None else []
        private = True
        drawn = await render(interaction, view, None, status, private=private)
        message_id = await answer_privately(interaction, drawn.card)
        if message_id is None:
            return None
        session = Session(
            message_id=message_id,
            owner_id=interaction.user.id,
            scope=scope_of(interaction),
            map_id=view.map.id,
            concept_id=target,
            history=history,
        )
    explorer.sessions.record(session, opened=opened)
    mapping = view if status.mapping and isinstance(view, ConceptView) else None
    if mapping is None and drawn.waits_for is None:
        return None
    return AfterAnswer(message_id, session, drawn, mapping, private)


def is_private(interaction: Interaction) -> bool:
    """Whether the pressed card is its reader's alone (an ephemeral message)."""
    message = interaction.message
    return message is not None and message.flags.ephemeral


async def after_answer(interaction: Interaction, after: AfterAnswer | None) -> None:
    """What the card shown waits for, once the press's turn is over: sub-concepts being
    mapped, a map picture not drawn in time."""
    if after is None:
        return
    if after.mapping is not None:
        await fill_in_subconcepts(interaction, after, after.mapping)
    await picture_later(interaction, after.drawn, after.message_id)


async def fill_in_subconcepts(
    interaction: Interaction, after: AfterAnswer, shown: ConceptView
) -> None:
    """Wait for the concept's sub-concepts and edit the card in place when they arrive.

    Whatever fails (the API, the database, an edit), the card ends with the
    sub-concepts or with an error and a Retry button, never stuck on "Mapping…".
    """
    explorer = interaction.client.explorer
    message_id, session = after.message_id, after.session
    concept_id = shown.concept.id
    status = Status()

    async def say_queued() -> None:
        card = cards.concept_card(shown, Status(queued=True))
        await edit_once(interaction, **message_kwargs(card, edit=True))

    async def still_here() -> bool:
        current = await explorer.sessions.get(message_id)
        return current is None or current.concept_id == concept_id

    live = LiveEdits(partial(edit_once, interaction), still_here)

    grown = False  # a sub-concept is shown

    def grow(sketch: Sketch) -> None:
        # Sub-concepts as they stream, on the card of everyone waiting on this concept;
        # before the first, a web search running for their sources.
        nonlocal grown
        if sketch.concepts or (sketch.searching and not grown):
            grown = grown or bool(sketch.concepts)
            growing = cards.concept_card(shown, Status(mapping=True, sketch=sketch))
            live.offer(**message_kwargs(growing, edit=True))

    view: View = shown
    try:
        view = await explorer.concepts.expand(
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
            view = await explorer.concepts.concept_view(concept_id)
        except Exception:
            log.warning("Could not read concept %s again after its expansion", concept_id)
    try:
        current = await explorer.sessions.get(message_id)
    except Exception:
        # Unknown: finishing the card matters more than the rare reader who moved on.
        log.warning("Could not read the session of card %s", message_id, exc_info=True)
        current = session
    await live.settle()
    if current is not None and current.concept_id != concept_id:
        return  # the reader moved on; the card they see now is not this one
    drawn = await render(interaction, view, current, status, private=after.private)
    await edit_finally(interaction, **message_kwargs(drawn.card, edit=True))


@route(Action.OPEN)
async def open_concept(interaction: Interaction, concept_id: int) -> None:
    explorer = interaction.client.explorer
    async with pressing(interaction):
        session = await session_for(interaction, parent_of=concept_id)
        view = await explorer.concepts.opening(concept_id, scope_of(interaction))
        after = await show(interaction, session, concept_id, view, opened=concept_id)
    await after_answer(interaction, after)


@route(Action.PICTURE)
async def show_picture(interaction: Interaction, concept_id: int) -> None:
    async with pressing(interaction):
        await _show_picture(interaction, concept_id)


async def _show_picture(interaction: Interaction, concept_id: int) -> None:
    """The whole map with the concept highlighted: in place for the card's owner (its
    session stays on the concept, so Back returns to it), privately for anyone else."""
    explorer = interaction.client.explorer
    session = await session_for(interaction, concept_id)
    view = await explorer.concepts.concept_view(concept_id, scope_of(interaction))
    owner = session is not None and session.owner_id == interaction.user.id
    # A render can outlast Discord's 3 s: acknowledge first, then answer.
    await acknowledge(interaction, thinking=not owner, ephemeral=not owner)
    picture = await picture_within(interaction, view, None)
    if picture is None:
        raise NotFound(N_("The map's picture could not be drawn just now; please try again."))
    card = cards.picture_card(view, picture)
    if owner:
        await interaction.edit_original_response(**message_kwargs(card, edit=True))
        return
    message_id = await answer_privately(interaction, card)
    if message_id is None:
        return
    explorer.sessions.start(
        message_id=message_id,
        owner_id=interaction.user.id,
        scope=scope_of(interaction),
        map_id=view.map.id,
        concept_id=concept_id,
        history=[session.concept_id] if session is not None else [],
    )


@route(Action.RETRY)
async def retry(interaction: Interaction, concept_id: int) -> None:
    explorer = interaction.client.explorer
    async with pressing(interaction):
        session = await session_for(interaction, concept_id)
        view = await explorer.concepts.concept_view(concept_id, scope_of(interaction))
        after = await show(interaction, session, concept_id, view)
    await after_answer(interaction, after)


async def _navigate(
    interaction: Interaction, action: Action, shown: int | None, map_id: int | None = None
) -> None:
    async with pressing(interaction):
        after = await _move(interaction, action, shown, map_id)
    await after_answer(interaction, after)


async def _move(
    interaction: Interaction, action: Action, shown: int | None, map_id: int | None
) -> AfterAnswer | None:
    explorer = interaction.client.explorer
    session = await session_for(interaction, shown, map_id)
    if session is not None and session.owner_id == interaction.user.id:
        if action is Action.BACK:
            session = await explorer.sessions.went_back(session)
        elif action is Action.UP:
            session = await explorer.sessions.went_up(session)
        else:
            session = explorer.sessions.moved(session, None)
        view = await explorer.sessions.view_of(session)
        return await show(interaction, session, session.concept_id, view, moved=True)
    # Someone else's card: a private copy of where the button leads from what it shows.
    target: int | None = None
    if map_id is None and session is not None:
        map_id = session.map_id
    if shown is not None:
        concept = await explorer.concepts.get(shown)
        if concept is None:
            raise NotFound(N_("This concept no longer exists; run /explore again."))
        map_id = concept.map_id
        if action is not Action.HOME:
            target = concept.parent_id
    if target is not None:
        view: View = await explorer.concepts.concept_view(target, scope_of(interaction))
    elif map_id is not None:
        view = await explorer.concepts.map_view(map_id, scope_of(interaction))
    else:
        raise NotFound(N_("This card is too old to follow; run /explore again."))
    return await show(interaction, session, target, view)


@route(Action.BACK)
async def back(interaction: Interaction, shown: int) -> None:
    await _navigate(interaction, Action.BACK, shown or None)


@route(Action.UP)
async def up(interaction: Interaction, shown: int) -> None:
    await _navigate(interaction, Action.UP, shown or None)


@route(Action.HOME)
async def home(interaction: Interaction, map_id: int) -> None:
    await _navigate(interaction, Action.HOME, None, map_id)

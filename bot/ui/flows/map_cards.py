"""The map card and its picture, which always shows the card's own counts: drawn within
the answer when it is quick (most maps draw in about 150 ms), else the card goes
without it, saying it is being drawn, and is edited with it as soon as it is drawn,
if the message still shows that map's overview."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.explore import MapView
from bot.models import Session
from bot.render import MapPicture, RenderError
from bot.ui import cards
from bot.ui.cards import Card, Post
from bot.ui.context import Interaction
from bot.ui.deliver import edit_card

log = logging.getLogger(__name__)

# How long an answer waits for its map card's picture before it goes without it (the
# picture is then edited in). Card pictures of the bundled maps draw in 90 to 270 ms on a
# loaded 2-core machine; the answer is due within Discord's 3 s (bot.ui.in_time).
PICTURE_INLINE_SECONDS = 0.5
# A map that changes while its picture is drawn is drawn again, at most this many times.
PICTURE_LATER_ROUNDS = 3

Edit = Callable[[Card], Awaitable[object]]


@dataclass(frozen=True)
class Drawn:
    """A card as it is sent now; ``waits_for``: the map whose picture it was sent
    without, to be edited in by ``picture_later``."""

    card: Card
    waits_for: MapView | None = None
    post: Post | None = None


async def map_card(
    interaction: Interaction,
    view: MapView,
    *,
    can_go_back: bool = False,
    post: Post | None = None,
    wait: float = PICTURE_INLINE_SECONDS,
) -> Drawn:
    """The map card with its picture if it is drawn within ``wait`` seconds; else without
    it (``Drawn.waits_for``). The card shows the counts its picture was drawn from."""
    drawing = interaction.client.explorer.pictures.of(view.map, whole=False)
    try:
        picture = await _within(drawing, wait)
    except Exception as exc:  # the card matters more than its picture
        level = logging.WARNING if isinstance(exc, RenderError) else logging.ERROR
        log.log(level, "No picture for map %s: %s", view.map.id, exc, exc_info=level > 30)
        return Drawn(cards.map_card(view, can_go_back=can_go_back, post=post), post=post)
    if picture is None:
        card = cards.map_card(view, can_go_back=can_go_back, drawing=True, post=post)
        return Drawn(card, waits_for=view, post=post)
    shown = counted_as(view, picture)
    return Drawn(
        cards.map_card(shown, can_go_back=can_go_back, picture=picture, post=post), post=post
    )


def counted_as(view: MapView, picture: MapPicture) -> MapView:
    """``view`` with the counts ``picture`` was drawn from: storage may have moved on between
    reading the map and drawing it (the picture is then the newer), and a card's counts
    and picture must agree."""
    if picture.counts is None:
        return view
    opened, total = picture.counts
    if (opened, total) == (view.map.opened, view.map.total):
        return view
    counted = view.map.model_copy(update={"opened": opened, "total": total})
    return dataclasses.replace(view, map=counted)


async def _within(drawing: asyncio.Future[MapPicture], seconds: float) -> MapPicture | None:
    if drawing.done():
        return drawing.result()  # drawn before: taken without a wait
    try:
        async with asyncio.timeout(seconds):
            return await drawing
    except TimeoutError:
        return None  # the drawing goes on (shielded), for whoever asks next


async def picture_later(
    interaction: Interaction, drawn: Drawn, message_id: int, edit: Edit | None = None
) -> None:
    """Once the picture ``drawn`` was sent without is drawn, the card on ``message_id``
    with it, if the message still shows that map's overview (its session says so). The
    card is built again from the map as it is then, so its counts match its picture; a
    map that changed meanwhile is drawn again. ``edit`` puts a card on the message (by
    default through the interaction's webhook)."""
    view = drawn.waits_for
    if view is None:
        return
    explorer = interaction.client.explorer
    put = edit or (lambda card: edit_card(interaction, message_id, card))
    for _ in range(PICTURE_LATER_ROUNDS):
        drawing = explorer.pictures.of(view.map, whole=False)
        try:
            await drawing  # a render is stopped after RENDER_TIMEOUT_SECONDS (10 s)
            failed = False
        except Exception as exc:
            log.warning("No picture for map %s: %s", view.map.id, exc)
            failed = True  # the card goes on without it, and stops saying it is drawn
        session = await explorer.sessions.get(message_id)
        if not _on_overview(session, view):
            return  # the message shows another card now
        assert session is not None
        # The owner's presses on the card wait while it is edited, and it is edited only
        # once the press before has answered: an edit never overwrites a newer card.
        async with explorer.sessions.turn(message_id, session.owner_id):
            session = await explorer.sessions.get(message_id)
            if not _on_overview(session, view):
                return
            assert session is not None
            now = await explorer.sessions.view_of(session)
            assert isinstance(now, MapView)
            can_go_back = bool(session.history)
            if failed:
                await put(cards.map_card(now, can_go_back=can_go_back, post=drawn.post))
                return
            again = await map_card(
                interaction, now, can_go_back=can_go_back, post=drawn.post, wait=0
            )
            if again.waits_for is None:
                await put(again.card)
                return
        view = again.waits_for  # the map changed while it was drawn: its new version next
    log.info("Map %s kept changing; card %s goes without its picture", view.map.id, message_id)


def _on_overview(session: Session | None, view: MapView) -> bool:
    return session is not None and session.concept_id is None and session.map_id == view.map.id

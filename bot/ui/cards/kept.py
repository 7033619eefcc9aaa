"""Cards kept once built: a card is a pure function of what it shows (a view, a status,
a picture, where Back leads), and the same card is asked for press after press, so the
cards of known maps and concepts cost a lookup, not a build.

Every argument is part of the key, a view or a status field by field, and so is the
language the card is written in (``bot.i18n.language``: its labels and footer), so a card
is only ever reused for exactly what it was built from. Bounded; an argument that cannot
be a key (an unhashable field) means the card is built afresh.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import ParamSpec

from bot.i18n import language
from bot.ui.cards.blocks import Card

# A map card holds its picture (about 150 KiB): this many cards hold at most ~20 MiB of
# pictures the picture cache may have let go.
CARDS_KEPT = 128

P = ParamSpec("P")


def kept(build: Callable[P, Card]) -> Callable[P, Card]:
    """``build``, remembering its last ``CARDS_KEPT`` cards by their arguments."""
    cards: OrderedDict[Hashable, Card] = OrderedDict()

    @functools.wraps(build)
    def card(*args: P.args, **kwargs: P.kwargs) -> Card:
        key = (
            language(),
            tuple(map(_key, args)),
            tuple((k, _key(v)) for k, v in sorted(kwargs.items())),
        )
        try:
            made = cards.get(key)
        except TypeError:  # something unhashable in it
            return build(*args, **kwargs)
        if made is None:
            made = cards[key] = build(*args, **kwargs)
            if len(cards) > CARDS_KEPT:
                cards.popitem(last=False)
        else:
            cards.move_to_end(key)
        return made

    card.cache_clear = cards.clear  # type: ignore[attr-defined]
    return card


def _key(argument: object) -> object:
    """A dataclass (a view, a status) as its type and fields, lists as tuples."""
    if dataclasses.is_dataclass(argument) and not isinstance(argument, type):
        values = vars(argument).values()
        return (type(argument), *(tuple(v) if isinstance(v, list) else v for v in values))
    return argument

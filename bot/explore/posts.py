"""Private cards posted in their channel: each at most once (a second press, or two
presses at once, posts nothing more)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

# Private cards remembered as posted. A private message lives in its reader's client
# until they dismiss it or reload; its button shows "Posted in channel" once it is posted,
# so only presses made before that edit reached them need this memory.
POSTS_REMEMBERED = 10_000


class Posts:
    """Which private cards were posted (or are being posted) by this process."""

    def __init__(self, size: int = POSTS_REMEMBERED) -> None:
        self.size = size
        self._posted: OrderedDict[Hashable, None] = OrderedDict()

    def claim(self, card: Hashable) -> bool:
        """Whether ``card`` may be posted now: True once, until ``release``."""
        if card in self._posted:
            return False
        self._posted[card] = None
        while len(self._posted) > self.size:
            self._posted.popitem(last=False)
        return True

    def release(self, card: Hashable) -> None:
        """The post of ``card`` failed: it may be posted again."""
        self._posted.pop(card, None)

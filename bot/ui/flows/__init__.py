"""One module per flow a member walks through: navigation of cards, a new topic, Ask,
/maps, /export, sources, the admin commands, learning together (quiz, review, progress,
discuss), and Post in channel. Importing this package registers the handler of every button
and menu (``bot.ui.items.route``)."""

from bot.ui.flows import (
    admin,
    ask,
    discuss,
    export,
    maps,
    material,
    navigation,
    new_topic,
    post,
    progress,
    quiz,
    review,
    sources,
)

__all__ = [
    "admin",
    "ask",
    "discuss",
    "export",
    "maps",
    "material",
    "navigation",
    "new_topic",
    "post",
    "progress",
    "quiz",
    "review",
    "sources",
]

"""One module per flow a member walks through: navigation of cards, a new topic, Ask,
/maps, /export, sources and the admin commands. Importing this package registers the handler
of every button and menu (``bot.ui.items.route``)."""

from bot.ui.flows import admin, ask, export, maps, material, navigation, new_topic, sources

__all__ = ["admin", "ask", "export", "maps", "material", "navigation", "new_topic", "sources"]

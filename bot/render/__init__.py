"""Rendering: pure functions from a map to bytes or text (pictures, export formats).

Nothing in this package reads storage or talks to Discord. ``picture`` draws
the whole known map with Graphviz (the graphviz-pure program, run as a
subprocess with a time limit), or says why it cannot and gives an indented
outline instead; ``cache`` keeps recent pictures, one render per key at a
time; ``export`` writes the export formats.
"""

from bot.render.cache import PictureCache
from bot.render.picture import MapPicture, Node, Renderer, RenderError, drawable, outline, to_dot

__all__ = [
    "MapPicture",
    "Node",
    "PictureCache",
    "RenderError",
    "Renderer",
    "drawable",
    "outline",
    "to_dot",
]

"""Rendering: pure functions from a map to bytes or text (pictures, export formats).

Nothing in this package reads storage or talks to Discord.
"""

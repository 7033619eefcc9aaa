"""Tools for map authors: ``python -m bot maps lint`` and ``python -m bot maps export``."""

from bot.authoring.export import export_command
from bot.authoring.lint import Problem, lint_command, lint_file, lint_paths
from bot.text import count_sentences

__all__ = [
    "Problem",
    "count_sentences",
    "export_command",
    "lint_command",
    "lint_file",
    "lint_paths",
]

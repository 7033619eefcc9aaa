"""Prompt templates: ``prompts/*.md`` loaded once, rendered by name.

A template is Markdown with named ``{placeholders}`` (``str.format`` syntax;
literal braces are written ``{{`` and ``}}``). Rendering checks that the
values given are exactly the template's placeholders, so a renamed
placeholder fails loudly instead of sending Claude a prompt with a hole.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.errors import StartupError

log = logging.getLogger(__name__)

PROMPT_SUFFIX = ".md"


class PromptError(StartupError):
    """A prompt file that cannot be used, or a render with the wrong values."""


@dataclass(frozen=True)
class Template:
    name: str
    text: str
    placeholders: frozenset[str]


def placeholders_of(text: str, *, name: str = "<template>") -> frozenset[str]:
    """The named placeholders in ``text``; positional or indexed fields are refused."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:  # a lone "{" or "}"
        raise PromptError(
            f"prompt {name!r}: {exc} (write literal braces as {{{{ and }}}})"
        ) from None
    names: set[str] = set()
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise PromptError(
                f"prompt {name!r}: placeholder {{{field}}} must be a plain name like {{topic}}"
            )
        names.add(field)
    return frozenset(names)


class Prompts:
    """The templates of one prompts directory, by name (the file name without ``.md``)."""

    def __init__(self, templates: Mapping[str, Template]) -> None:
        self._templates = dict(templates)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._templates)

    def template(self, name: str) -> Template:
        try:
            return self._templates[name]
        except KeyError:
            raise PromptError(f"no prompt named {name!r}") from None

    def placeholders(self, name: str) -> frozenset[str]:
        return self.template(name).placeholders

    def require(self, expected: Mapping[str, frozenset[str]]) -> None:
        """Fail now, not at the first generation, if a template is missing or differs."""
        for name, fields in expected.items():
            _check(self.template(name), fields)

    def render(self, name: str, **values: object) -> str:
        template = self.template(name)
        _check(template, frozenset(values))
        return template.text.format(**values)


def _check(template: Template, given: frozenset[str]) -> None:
    """``given`` (the values the code fills) must be exactly the template's placeholders."""
    unfilled = template.placeholders - given
    unknown = given - template.placeholders
    if unfilled or unknown:
        parts = []
        if unfilled:
            parts.append(f"no value for {_braced(unfilled)}")
        if unknown:
            parts.append(f"no placeholder for {_braced(unknown)}")
        raise PromptError(f"prompt {template.name!r}: {'; '.join(parts)}")


def _braced(names: frozenset[str]) -> str:
    return ", ".join(f"{{{name}}}" for name in sorted(names))


def load_prompts(directory: Path) -> Prompts:
    """Read every ``*.md`` file in ``directory``; an empty or malformed file is an error."""
    if not directory.is_dir():
        raise PromptError(f"prompts directory {directory} does not exist")
    templates: dict[str, Template] = {}
    for path in sorted(directory.glob(f"*{PROMPT_SUFFIX}")):
        name = path.name.removesuffix(PROMPT_SUFFIX)
        try:
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise PromptError(f"prompt {name!r} ({path}) cannot be read: {exc}") from None
        if not text:
            raise PromptError(f"prompt {name!r} ({path}) is empty")
        try:
            placeholders = placeholders_of(text, name=name)
        except PromptError as exc:
            raise PromptError(f"{exc} in {path}") from None
        templates[name] = Template(name, text, placeholders)
    log.debug("Loaded prompts %s from %s", sorted(templates), directory)
    return Prompts(templates)

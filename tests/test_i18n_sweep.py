"""No member-facing text escapes the catalogs: every prose string literal in ``bot/ui``
is a message (inside ``_``, ``N_``, ``ngettext``), a log line, a docstring or on the short
list of strings members never read; and every error the core raises for a member carries
a marked message (``N_``), never a literal or an f-string."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import regex

from bot import errors
from bot.config import PROJECT_ROOT

BOT = PROJECT_ROOT / "bot"
UI = BOT / "ui"
MESSAGE_CALLS = {"_", "N_", "ngettext", "pgettext"}
LOG_CALLS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
# respond.quietly(what, work): ``what`` goes to the log.
LOGGED_BY = {"quietly"}
# Prose: words with a space between them, a capitalised word, or letters of other scripts.
PROSE = regex.compile(r"\p{L}{2,}\s+\p{L}|^\W*\p{Lu}\p{Ll}+|[^\p{Latin}\p{Common}\p{Inherited}]")
# Strings in bot/ui that no member reads: (module, text).
NOT_SHOWN = {
    ("bot/ui/respond.py", "kinapse: first response"),  # a key in interaction.extras
    ("bot/ui/respond.py", "Retry-After"),  # a header of Discord's 429
    ("bot/ui/in_time.py", "waits for another process's lock"),  # logged
    ("bot/ui/in_time.py", "is slow"),  # logged
    ("bot/ui/items.py", "Interaction"),  # a type hint
    ("bot/ui/client.py", "all servers"),  # logged
    ("bot/ui/cards/explore.py", "Claude"),  # the model's name when none is stored
    ("bot/ui/cards/lists.py", "Claude"),
    ("bot/ui/cards/sources.py", "Claude"),
    ("bot/ui/cards/sources.py", "d MMM"),  # Babel's date patterns (Unicode LDML)
}
FIX = (
    "member-facing text must come from the catalogs: wrap it in _() (N_() for a constant), "
    "run `uv run python -m bot catalogs update` and translate it (see bot/i18n.py)"
)


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _called(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _exempt(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Inside a message call, a log call, or a raise of an error members never see."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Call):
            name = _called(node)
            owner = node.func.value if isinstance(node.func, ast.Attribute) else None
            if name in MESSAGE_CALLS or name in LOGGED_BY:
                return True
            # Commands' names, descriptions and choices: translated by CatalogTranslator,
            # and in the template through ``catalogs update`` (tests/test_i18n.py).
            if isinstance(owner, ast.Name) and owner.id == "app_commands":
                return True
            if name in LOG_CALLS and isinstance(owner, ast.Name) and owner.id in {"log", "logging"}:
                return True
        internal = {"ValueError", "TypeError", "RuntimeError", "AssertionError"}
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            return _called(node.exc) in internal
    return False


def _in_all(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Part of ``__all__``: names, not text."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Assign):
            return any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
    return False


def _docstrings(tree: ast.AST) -> set[ast.AST]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            found.add(first.value)
    return found


def _literals(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = _parents(tree)
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if node in docstrings or _exempt(node, parents):
            continue
        # Keys and comparisons: dict keys, subscripts, ``x == "..."``, ``.get("...")``.
        parent = parents.get(node)
        if isinstance(parent, ast.Compare | ast.Subscript):
            continue
        if isinstance(parent, ast.Dict) and node in parent.keys:
            continue
        if _in_all(node, parents):
            continue
        if PROSE.search(node.value):
            yield node.lineno, node.value


def test_no_prose_in_the_edge_escapes_the_catalogs():
    escaped = []
    for path in sorted(UI.rglob("*.py")):
        where = str(path.relative_to(PROJECT_ROOT))
        for line, text in _literals(path):
            if not any(where == module and text.startswith(start) for module, start in NOT_SHOWN):
                escaped.append(f"{where}:{line}: {text!r}")
    assert escaped == [], f"{FIX}:\n" + "\n".join(escaped)


MEMBER_ERRORS = {
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.KinapseError)
} | {"TopicError"}


def _unmarked_errors(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _called(node) not in MEMBER_ERRORS or not node.args:
            continue
        message = node.args[0]
        if isinstance(message, ast.Name) and message.id in constants:
            message = constants[message.id]
        unmarked = isinstance(message, ast.Constant | ast.JoinedStr) or (
            isinstance(message, ast.Call) and _called(message) == "format"
        )
        if unmarked:
            yield f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}: {_called(node)}"


def test_every_error_for_members_carries_a_marked_message():
    unmarked = [found for path in sorted(BOT.rglob("*.py")) for found in _unmarked_errors(path)]
    assert unmarked == [], f"{FIX}:\n" + "\n".join(unmarked)

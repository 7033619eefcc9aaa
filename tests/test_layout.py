"""The code's shape, checked: imports point one way (ui -> explore -> storage, generator,
render, maps -> models, text, config) with no circle, only the edge imports discord, the
edge never touches storage, and no module grows past what a reader takes in at once."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from bot.config import PROJECT_ROOT

BOT = PROJECT_ROOT / "bot"
MODULE_LINES_MAX = 600
# A module may be longer when its docstring says why, with these words.
LONG_BECAUSE = "Longer than 600 lines because"
# Each package's place, from the edge down; a module imports only from below its own
# place, or from its own package (the foundation, rank 0, from one another). The
# applications (the entry points, the runtime that builds the bot, the authors' tools)
# stand above them all.
RANKS = {
    "bot.ui": 3,
    "bot.explore": 2,
    "bot.storage": 1,
    "bot.generator": 1,
    "bot.render": 1,
    "bot.maps": 1,
    "bot.models": 0,
    "bot.citations": 0,
    "bot.text": 0,
    "bot.config": 0,
    "bot.errors": 0,
    "bot.prompts": 0,
    "bot.i18n": 0,
    "bot.languages": 0,
}
APPLICATIONS = ("bot.__main__", "bot.preview", "bot.runtime", "bot.authoring")


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(BOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[tuple[str, list[str]]]:
    """(module, names) of every import that runs (those under TYPE_CHECKING never do),
    at the top of the module or inside a function."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (item for child in node.orelse for item in _imports_of(child))
            continue
        yield from _imports_of(node)


def _imports_of(node: ast.AST) -> Iterator[tuple[str, list[str]]]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name, []
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
        yield node.module, [alias.name for alias in node.names]
    elif not isinstance(node, ast.If) or not _is_type_checking(node):
        yield from _imports(node)


def imported(name: str) -> set[str]:
    """The modules ``name`` imports: the bot's own by module (a name imported from a
    package is its submodule when there is one), others by their top package."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found: set[str] = set()
    for module, names in _imports(tree):
        if not module.startswith("bot"):
            found.add(module.split(".")[0])
            continue
        submodules = {f"{module}.{n}" for n in names} & MODULES.keys()
        found |= submodules or {module}
        if submodules and len(submodules) < len(names):
            found.add(module)
    return found


GRAPH = {name: {m for m in imported(name) if m in MODULES} for name in MODULES}


def package_of(name: str) -> str | None:
    return next((p for p in RANKS if name == p or name.startswith(p + ".")), None)


def test_the_bot_modules_import_each_other_without_a_circle() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(name: str) -> None:  # Tarjan's strongly connected components
        index[name] = low[name] = len(index)
        stack.append(name)
        for other in GRAPH[name]:
            if other not in index:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == name:
                    break
            if len(component) > 1 or name in GRAPH[name]:
                circles.append(sorted(component))

    for name in MODULES:
        if name not in index:
            visit(name)
    assert circles == []


def test_imports_point_one_way() -> None:
    wrong = []
    for name, targets in GRAPH.items():
        own = package_of(name)
        if name == "bot" or name.startswith(APPLICATIONS):
            continue
        assert own is not None, f"{name} has no place in RANKS"
        for target in targets:
            theirs = package_of(target)
            # Nothing imports an application; the foundation's modules import one another.
            upward = theirs is None or RANKS[theirs] >= RANKS[own] > 0
            if theirs != own and upward:
                wrong.append(f"{name} -> {target}")
    assert wrong == []


def test_only_the_edge_imports_discord() -> None:
    users = {
        name
        for name in MODULES
        if "discord" in imported(name) and not name.startswith(APPLICATIONS)
    }
    assert users and all(name.startswith("bot.ui") for name in users), sorted(users)


def test_the_core_loads_without_discord() -> None:
    probe = "import sys, bot.explore; print(sorted(m for m in sys.modules if 'discord' in m))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_edge_never_touches_storage() -> None:
    """The UI asks the core (``bot.explore``); only the core reads and writes storage."""
    touching = []
    for name, path in MODULES.items():
        if not name.startswith("bot.ui"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "storage":
                touching.append(f"{name}:{node.lineno}")
    assert touching == []


def test_no_module_is_longer_than_a_reader_takes_in() -> None:
    long = []
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines > MODULE_LINES_MAX and LONG_BECAUSE not in (
            ast.get_docstring(ast.parse(text)) or ""
        ):
            long.append(f"{name}: {lines} lines")
    assert long == []

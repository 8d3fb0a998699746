"""The apps depend on each other in one direction (docs/ARCHITECTURE.md).

Every module of every app is parsed — imports written inside functions and under
``TYPE_CHECKING`` included, which is where a loop hides — and the app-to-app graph must
have no cycle. ``make lint`` holds the finer rules (layers inside each app, pure
domains) with import-linter; this test is the one that runs without it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = sorted(
    path.parent.name
    for path in ROOT.glob("*/apps.py")
    if not path.parent.name.startswith((".", "_"))
)

#: The floors, top to bottom; apps on one floor do not import one another.
FLOORS = [
    ["api"],
    ["controltower"],
    ["monitoring"],
    ["agents"],
    ["approvals"],
    ["crm", "integrations", "memory"],
    ["campaigns"],
    ["governance"],
]


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` for every absolute import in the file, wherever it is written."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def app_imports() -> dict[tuple[str, str], list[str]]:
    """``(importer app, imported app)`` → where, for every import between two apps."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # a migration pins history; it may name any app's past
            for line, module in _imported_modules(path):
                target = module.split(".")[0]
                if target in APPS and target != app:
                    edges[(app, target)].append(f"{path.relative_to(ROOT)}:{line}")
    return edges


def cycles(edges: dict[tuple[str, str], list[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one app (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(app: str) -> None:
        index[app] = low[app] = len(index)
        stack.append(app)
        on_stack.add(app)
        for other in sorted(graph[app]):
            if other not in index:
                visit(other)
                low[app] = min(low[app], low[other])
            elif other in on_stack:
                low[app] = min(low[app], index[other])
        if low[app] == index[app]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == app:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for app in sorted(graph):
        if app not in index:
            visit(app)
    return groups


def test_every_app_is_on_a_floor():
    assert sorted(app for floor in FLOORS for app in floor) == APPS


def test_no_cycle_between_apps():
    edges = app_imports()
    found = cycles(edges)
    details = [
        f"{a} → {b}: {', '.join(edges[(a, b)][:3])}"
        for group in found
        for a in group
        for b in group
        if (a, b) in edges
    ]
    assert not found, "Apps that import each other in a loop:\n" + "\n".join(details)


def test_apps_import_only_floors_below_them():
    """Stricter than no cycle: the order is the one docs/ARCHITECTURE.md draws."""
    floor_of = {app: depth for depth, floor in enumerate(FLOORS) for app in floor}
    upward = [
        f"{a} → {b}: {', '.join(where[:3])}"
        for (a, b), where in sorted(app_imports().items())
        if floor_of[b] <= floor_of[a]
    ]
    assert not upward, "Imports that climb a floor (or cross one):\n" + "\n".join(upward)


def test_the_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from campaigns.models import Campaign\n")
    assert _imported_modules(module) == [(2, "campaigns.models")]


def test_the_check_finds_a_loop():
    edges = {("a", "b"): ["x"], ("b", "c"): ["y"], ("c", "a"): ["z"], ("c", "d"): ["w"]}
    assert cycles(edges) == [["a", "b", "c"]]

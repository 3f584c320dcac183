"""The floor plan, checked: wings, the arrows between them, no cycles, a leaf Settings."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.support.media import REPO

PACKAGE = REPO / "audio_service"
# Folder -> folders it must never import (DESIGN.md "Never: ..."), and a few more that follow
# from the flow: nothing below the service knows about it, nothing but the CLI knows the CLI.
NEVER = {
    "text": {"audio", "engines", "render", "store", "jobs", "service", "http", "cli", "podcast"},
    "engines": {"http", "service", "render", "store", "jobs", "cli", "podcast", "batch"},
    "audio": {"render", "store", "jobs", "service", "http", "cli", "podcast", "batch"},
    "render": {"http", "cli", "service", "jobs", "podcast", "batch"},
    "store": {"engines", "render", "service", "http", "cli", "podcast", "batch", "jobs"},
    "jobs": {"service", "http", "cli", "render", "podcast", "batch"},
    "podcast": {"http", "service", "cli", "batch", "jobs"},
    "batch": {"http", "cli"},
    "service": {"http", "cli"},
    "http": {"cli"},
}
HEAVY = ("numpy", "scipy", "lameenc", "mutagen", "pebble", "onnxruntime", "pyttsx3")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every audio_service module this file imports, wherever the import statement sits
    (a function-level import that dodges a cycle is still an arrow)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("audio_service"))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("audio_service")
        ):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (REPO / (candidate.replace(".", "/") + ".py")).is_file() or (
                    REPO / candidate.replace(".", "/") / "__init__.py"
                ).is_file()
                found.add(candidate if is_module else str(node.module))
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imports_of(path) & set(modules) for name, path in modules.items()}


def wing(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else "(root)"


def test_no_import_cycles() -> None:
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in edges:
        if node not in index:
            visit(node)
    assert cycles == []


def test_no_arrow_climbs_against_the_flow() -> None:
    wrong = [
        f"{source} imports {target}"
        for source, targets in graph().items()
        for target in targets
        if wing(target) in NEVER.get(wing(source), set())
    ]
    assert wrong == []


def test_few_modules_at_the_package_root() -> None:
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(root) <= 12, root


def test_settings_is_a_leaf() -> None:
    code = (
        "import sys, audio_service.config; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == ""


def url_literals(path: Path) -> list[int]:
    """Lines of string literals (f-strings included) holding "/v1/"; docstrings aside."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and "/v1/" in node.value
        and id(node) not in docstrings
    ]


def test_only_http_spells_urls() -> None:
    outside = [
        f"{path.relative_to(REPO)}:{line}"
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] != "http"
        for line in url_literals(path)
    ]
    assert outside == []

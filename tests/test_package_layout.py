"""The package layout under pipelines/ follows the data path: every import (also those inside functions) goes from a
stage to the base or to a stage below it, and no module imports itself back through others."""

from __future__ import annotations

import ast
from pathlib import Path

PIPELINES = Path(__file__).resolve().parents[1] / "pipelines"

# package -> the packages it may import (itself included). Listed in data-path order.
ALLOWED = {
    "base": {"base"},
    "sources": {"base", "sources"},
    "staging": {"base", "sources", "staging"},
    "model": {"base", "sources", "staging", "model"},
    "validation": {"base", "sources", "staging", "model", "validation"},
    "publish": {"base", "sources", "staging", "model", "validation", "publish"},
    "orchestration": {"base", "sources", "staging", "model", "validation", "publish", "orchestration"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PIPELINES.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the pipelines modules it imports anywhere in its body (function-level imports count too)."""
    modules = {_module_name(p): p for p in PIPELINES.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [base]).strip(".")
                for alias in node.names:  # `from pkg import module` imports the module
                    candidate = f"{base}.{alias.name}"
                    targets.add(candidate if candidate in modules else base)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


def test_every_stage_imports_only_the_base_and_stages_below_it():
    violations = [(m, t) for m, targets in import_graph().items() for t in targets
                  if _stage(m) and (_stage(t) not in ALLOWED[_stage(m)])]
    assert violations == []


def test_no_stage_package_imports_dagster():
    """Dagster objects live in pipelines/defs/ only; the stages are plain Python (orchestration reads run tags)."""
    offenders = []
    for path in PIPELINES.rglob("*.py"):
        if _stage(_module_name(path)) not in (None, "orchestration"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                offenders += [(_module_name(path), n) for n in names if n.split(".")[0] == "dagster"]
    assert offenders == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_finds_a_known_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_pipelines_modules():
    """Package __init__ modules that only re-export count as their package: an edge from a module to its own
    package's __init__ is how Python imports a submodule, not a cycle of the design."""
    graph = import_graph()
    pruned = {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}
    assert _cycles(pruned) == []


def test_no_catch_all_folder():
    for name in ("lib", "utils", "helpers", "common"):
        folder = PIPELINES / name
        assert not folder.exists() or len(list(folder.glob("*.py"))) <= 3, folder

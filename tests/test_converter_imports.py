"""The converter's modules import each other one way only (no cycle, checked on the source with
ast, imports inside functions included), and none of them imports bench code."""
from __future__ import annotations

import ast
from pathlib import Path

CONVERTER = Path(__file__).resolve().parents[1] / "converter"


def import_graph(directory: Path) -> dict[str, set[str]]:
    """{module: converter modules it imports} for the .py files of `directory`."""
    modules = {p.stem for p in directory.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in directory.glob("*.py"):
        edges = graph.setdefault(path.stem, set())
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:  # from .x import y
                    edges.add(node.module.split(".")[0])
                else:  # from . import x, y
                    edges.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.startswith("tflm_train.converter."):
                edges.add(node.module.split(".")[2])
    for edges in graph.values():
        edges.discard("__init__")
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return path[path.index(n):] + [n]
            if n not in state and (cycle := visit(n)):
                return cycle
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            return cycle
    return None


def test_cycle_finder_sees_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_converter_has_no_import_cycle():
    graph = import_graph(CONVERTER)
    assert {"autodiff", "memory_plan", "pipeline", "streaming"} <= set(graph)
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


def test_memory_plan_does_not_import_autodiff():
    graph = import_graph(CONVERTER)
    seen, todo = set(), ["memory_plan"]
    while todo:
        for n in graph[todo.pop()] - seen:
            seen.add(n)
            todo.append(n)
    assert "autodiff" not in seen and "pipeline" not in seen


def test_converter_does_not_import_bench():
    for path in CONVERTER.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] == "bench" for n in names), path.name

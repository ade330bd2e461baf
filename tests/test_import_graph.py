"""nn2hls's module import graph has no cycles, and no module imports another module's private names.

The graph is read from the source with `ast` (nothing is imported): `import a.b` and `from a import b`
at module level or inside functions both count; `from pkg import name` is an edge to the submodule
`pkg.name` when that is a module, else to `pkg` itself. Imports under `if TYPE_CHECKING:` never run
and are left out. A private name is one starting with a single underscore (dunders such as
`__version__` are public); it may not be imported from another module (`from m import _x`) nor read
as an attribute of an imported module (`m._x`).

`KNOWN_PRIVATE_IMPORTS` lists the exceptions still open, each with its reason; an entry that no
longer occurs fails the test too, so the list only shrinks.
"""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "nn2hls"

KNOWN_PRIVATE_IMPORTS: dict[tuple[str, str, str], str] = {}


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package at `root`."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside `if TYPE_CHECKING:` blocks."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                skipped.update(id(n) for n in ast.walk(inner))
    return skipped


def import_graph(root: Path) -> tuple[nx.DiGraph, list[tuple[str, str, str]]]:
    """(module import graph, private uses (importer, owner module, name)) of the package at `root`."""
    modules = module_files(root)
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    private: list[tuple[str, str, str]] = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        skipped = _type_checking_only(tree)
        aliases: dict[str, str] = {}  # local name -> module it is bound to
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules:
                        graph.add_edge(name, alias.name)
                        if alias.asname:
                            aliases[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    parts = parts[:len(parts) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                if base not in modules:
                    continue
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    if sub in modules:
                        graph.add_edge(name, sub)
                        aliases[alias.asname or alias.name] = sub
                        continue
                    graph.add_edge(name, base)
                    if _private(alias.name) and base != name:
                        private.append((name, base, alias.name))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and _private(node.attr) and aliases[node.value.id] != name):
                private.append((name, aliases[node.value.id], node.attr))
    graph.remove_edges_from(nx.selfloop_edges(graph))
    return graph, sorted(set(private))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def import_cycles(graph: nx.DiGraph) -> list[list[str]]:
    """The strongly connected groups of more than one module (each holds at least one cycle)."""
    return sorted(sorted(group) for group in nx.strongly_connected_components(graph) if len(group) > 1)


def test_no_import_cycles():
    graph, _ = import_graph(PACKAGE)
    assert len(graph) > 50  # the whole package was read
    assert import_cycles(graph) == []


def test_no_module_imports_private_names_of_another():
    _, private = import_graph(PACKAGE)
    unexpected = [use for use in private if use not in KNOWN_PRIVATE_IMPORTS]
    assert unexpected == []
    stale = [use for use in KNOWN_PRIVATE_IMPORTS if use not in private]
    assert stale == [], "no longer occurs: remove it from KNOWN_PRIVATE_IMPORTS"


def test_checker_finds_a_cycle_and_private_names(tmp_path):
    """The same functions on a small package written here: a -> b -> c -> a (one import inside a
    function), a private name imported, one read through a module alias, one under TYPE_CHECKING."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\nfrom pkg.d import _hidden, __version__\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from . import c\n    return c\n")
    (pkg / "sub" / "c.py").write_text("import pkg.a as first\nx = first._state\n")
    (pkg / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n"
                              "_hidden = 1\n__version__ = '1'\n")
    graph, private = import_graph(pkg)
    assert import_cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.sub.c"]]
    assert not graph.has_edge("pkg.d", "pkg.a")
    assert private == [("pkg.a", "pkg.d", "_hidden"), ("pkg.sub.c", "pkg.a", "_state")]

#!/usr/bin/env python3
"""Fails when a module of the runtime crate imports a module that imports it back.

Every `crate::a::b::..` path in a file (in `use` items and inline) counts as an
import of the deepest module it names. Modules are the files under runtime/src
(`x/mod.rs` is module `x`); lib.rs (the re-exports) and the folder modules
(`mod.rs`, declarations only) are left out, since every module is reachable
through them by construction.
"""
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent / "runtime" / "src"


def module_of(path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    return "::".join(parts)


files = {module_of(p): p for p in root.rglob("*.rs") if p.name not in ("lib.rs", "mod.rs")}
modules = set(files)


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def imports(text: str) -> set[str]:
    found = set()
    text = strip_comments(text)
    # Expand one level of braces: `use crate::span::{a, b::C};`
    for prefix, body in re.findall(r"crate::((?:\w+::)*)\{([^}]*)\}", text):
        for item in body.split(","):
            found.add(prefix + item.strip())
    found.update(re.findall(r"crate::((?:\w+::)*\w+)", text))
    resolved = set()
    for path in found:
        parts = path.split("::")
        for n in range(len(parts), 0, -1):
            candidate = "::".join(parts[:n])
            if candidate in modules:
                resolved.add(candidate)
                break
    return resolved


graph = {m: imports(p.read_text()) - {m} for m, p in files.items()}

# Tarjan's strongly connected components: any component of two or more modules
# is an import cycle.
index, low, stack, on_stack, cycles = {}, {}, [], set(), []


def visit(v: str) -> None:
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in graph[v]:
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on_stack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        component = []
        while True:
            w = stack.pop()
            on_stack.discard(w)
            component.append(w)
            if w == v:
                break
        if len(component) > 1:
            cycles.append(sorted(component))


for module in sorted(graph):
    if module not in index:
        visit(module)

if "-v" in sys.argv:
    for module in sorted(graph):
        print(f"{module} -> {', '.join(sorted(graph[module])) or '(nothing)'}")
if cycles:
    for component in cycles:
        print("import cycle among runtime modules: " + ", ".join(component), file=sys.stderr)
    sys.exit(1)
print(f"no import cycle among {len(graph)} runtime modules")

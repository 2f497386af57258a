"""The deploy-time check of a Python version, made without a GraalPy context.

Every new GraalPy context runs the standard library's module code afresh (that code is not
shared between contexts), and the JIT compiles its hot parts again in each one: seconds of
compilation that queue ahead of every other function's in that worker's JVM. After 40 deploys,
10 of them Python, a never-seen JS function's first call took 17.2 s instead of 0.9 s (DESIGN.md,
"The deploy-time check of a Python version"). So a Python upload is parsed here, by the
gateway's CPython: that its module binds the entrypoint, and that what it imports
unconditionally at top level exists. GraalPy 25 speaks
Python 3.12 and the gateway may run 3.11, so code this parser refuses is loaded in a worker
instead, whose GraalPy gives the authoritative syntax error and its line (rare: a deploy with a
syntax error, or 3.12-only syntax). What only running the module can show (an exception in its
top-level code) is reported by the first call, as OpenWhisk and Lambda report a failed init.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator

from graalvisor.domain.errors import Invalid

# GraalPy's own modules, besides the standard library's.
GRAALPY_MODULES = frozenset({"polyglot", "java", "__graalpython__"})
AVAILABLE = frozenset(sys.stdlib_module_names) | frozenset(sys.builtin_module_names) | GRAALPY_MODULES
# Names whose use can bind a global the parser cannot see: then a missing entrypoint is not sure.
DYNAMIC = frozenset({"globals", "exec", "eval", "setattr", "vars", "__import__", "importlib"})


def check(entrypoint: str, source: str | None = None, files: dict[str, str] | None = None) -> bool:
    """Raises Invalid (a 400) for code that could not load: an entrypoint the module never
    binds, a top-level import of a module that is neither in the runtime nor in the upload.
    False when this parser cannot read one of its Python files: a worker must check it."""
    texts = {name: text for name, text in (files or {}).items() if name.endswith(".py")} if files is not None \
        else {"__main__.py": source or ""}
    try:
        trees = {name: ast.parse(text, filename=name) for name, text in texts.items()}
    except (SyntaxError, ValueError):  # ValueError: a NUL byte
        return False
    tree = trees["__main__.py"]
    provided = {name.split("/", 1)[0].removesuffix(".py") for name in (files or {})}
    statements = list(_module_level(tree.body))
    bound = set().union(*(_bindings(s) for s in statements)) if statements else set()
    star = any(isinstance(s, ast.ImportFrom) and any(a.name == "*" for a in s.names) for s in statements)
    dynamic = any((isinstance(n, ast.Name) and n.id in DYNAMIC) or (isinstance(n, ast.Global) and entrypoint in n.names)
                  for n in ast.walk(tree))
    if entrypoint not in bound and not star and not dynamic:
        raise Invalid(f"the code does not load: the code defines no function '{entrypoint}' (the entrypoint)",
                      type="EntrypointError", line=0)
    for statement in tree.body:  # unconditional imports only: one under if or try may be guarded
        for module in _imported(statement):
            if module not in AVAILABLE and module not in provided:
                raise Invalid(f"the code does not load: ModuleNotFoundError: No module named '{module}' (line "
                              f"{statement.lineno}); the runtime has the standard library only: bundle pure-Python "
                              "packages in a zip", type="ModuleNotFoundError", line=statement.lineno)
    return True


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements that run when the module loads, into if/for/while/with/try blocks, not
    into functions or classes."""
    for s in body:
        yield s
        if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for field in ("body", "orelse", "finalbody"):
            yield from _module_level(getattr(s, field, []))
        for handler in getattr(s, "handlers", []):
            yield from _module_level(handler.body)


def _bindings(s: ast.stmt) -> set[str]:
    if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {s.name}
    if isinstance(s, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".", 1)[0] for a in s.names}
    targets: list[ast.expr] = []
    if isinstance(s, ast.Assign):
        targets = s.targets
    elif isinstance(s, ast.AnnAssign | ast.AugAssign | ast.For | ast.AsyncFor):
        targets = [s.target]
    elif isinstance(s, ast.With | ast.AsyncWith):
        targets = [i.optional_vars for i in s.items if i.optional_vars is not None]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _imported(s: ast.stmt) -> list[str]:
    if isinstance(s, ast.Import):
        return [a.name.split(".", 1)[0] for a in s.names]
    if isinstance(s, ast.ImportFrom) and s.level == 0 and s.module:
        return [s.module.split(".", 1)[0]]
    return []

"""The deploy-time check of a Python version, made without a GraalPy context.

Every new GraalPy context runs the standard library's module code afresh (that code is not
shared between contexts), and the JIT compiles its hot parts again in each one: seconds of
compilation that queue ahead of every other function's in that worker's JVM. Ten Python
deploys made a never-seen JS function's first call ten times slower (DESIGN.md, "The deploy-time
check"). So a Python upload is checked here, in the gateway's CPython (the same language
version as GraalPy's): its syntax, that its module binds the entrypoint, and that what it
imports unconditionally at top level exists. What only running the module can show (an exception in its
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


def check(entrypoint: str, source: str | None = None, files: dict[str, str] | None = None) -> None:
    """Raises Invalid (a 400) for code that could not load: a syntax error in any of its
    Python files, an entrypoint the module never binds, a top-level import of a module that is
    neither in the runtime nor in the upload."""
    main_file, main_source = ("__main__.py", (files or {}).get("__main__.py", "")) if files is not None \
        else ("<source>", source or "")
    trees = {name: _parse(name, text) for name, text in (files or {}).items() if name.endswith(".py")}
    tree = trees.get(main_file) or _parse(main_file, main_source)
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


def _parse(name: str, text: str) -> ast.Module:
    try:
        return ast.parse(text, filename=name)
    except SyntaxError as e:
        where = f"{name}, line {e.lineno}" if name != "<source>" else f"line {e.lineno}"
        raise Invalid(f"the code does not load: SyntaxError: {e.msg} ({where})", type="SyntaxError",
                      line=e.lineno or 0) from None
    except ValueError as e:  # a NUL byte in the source
        raise Invalid(f"the code does not load: {e}", type="SyntaxError", line=0) from None


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

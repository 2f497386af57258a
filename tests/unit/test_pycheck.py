"""The Python deploy check parses; it never runs the code (domain.pycheck)."""

from __future__ import annotations

import pytest

from graalvisor.domain import Invalid
from graalvisor.domain.pycheck import check


def refused(entrypoint: str = "main", source: str | None = None, files: dict[str, str] | None = None) -> Invalid:
    with pytest.raises(Invalid) as e:
        check(entrypoint, source, files)
    return e.value


def test_plain_functions_pass() -> None:
    check("main", "import json, re\nfrom collections import Counter\n\ndef main(args):\n    return {}\n")
    check("handler", "class Handler:\n    pass\n\nhandler = Handler()\n")
    check("main", "import sys\nif sys.version_info >= (3, 11):\n    def main(a):\n        return {}\n"
                  "else:\n    main = None\n")
    check("main", "try:\n    import ujson as json\nexcept ImportError:\n    import json\n\n"
                  "def main(a):\n    return json.loads('{}')\n")  # a guarded import of a missing module


def test_a_syntax_error_names_its_line() -> None:
    e = refused(source="def main(args):\n    x = 1\n    return x +\n")
    assert e.extra["type"] == "SyntaxError" and e.extra["line"] == 3
    assert "does not load" in e.message and "line 3" in e.message


def test_an_unbound_entrypoint_is_refused_unless_the_module_may_bind_it_dynamically() -> None:
    e = refused("handler", "def main(a):\n    return {}\n")
    assert e.extra["type"] == "EntrypointError" and "'handler'" in e.message
    check("main", "from helpers import *\n", {"__main__.py": "from helpers import *\n", "helpers.py": "def main(a): 1"})
    check("main", "globals()['main'] = lambda a: {}\n")
    check("main", "def setup():\n    global main\n    main = lambda a: {}\n\nsetup()\n")


def test_an_unconditional_import_of_a_missing_module_is_refused_with_its_line() -> None:
    e = refused(source="import json\nimport numpy as np\n\ndef main(a):\n    return {}\n")
    assert e.extra == {"type": "ModuleNotFoundError", "line": 2} and "'numpy'" in e.message
    e = refused(source="from requests.adapters import HTTPAdapter\ndef main(a):\n    return {}\n")
    assert "'requests'" in e.message
    check("main", "from . import x\nimport polyglot\n\ndef main(a):\n    return {}\n")


def test_a_zip_provides_its_own_modules_and_each_file_is_parsed() -> None:
    files = {"__main__.py": "from handler import main\nimport util.text\n",
             "handler.py": "def main(a):\n    return {}\n", "util/__init__.py": "",
             "util/text.py": "X = 1\n", "README.md": "not python"}
    check("main", files=files)
    e = refused(files={**files, "util/text.py": "def f(:\n"})
    assert e.extra["type"] == "SyntaxError" and "util/text.py" in e.message
    e = refused(files={"__main__.py": "import handler\n", "handler.py": "def main(a): 1"})
    assert e.extra["type"] == "EntrypointError"

"""The Python deploy check parses; it never runs the code (domain.pycheck)."""

from __future__ import annotations

import sys

import pytest

from graalvisor.domain import Invalid
from graalvisor.domain.pycheck import check


def refused(entrypoint: str = "main", source: str | None = None, files: dict[str, str] | None = None) -> Invalid:
    with pytest.raises(Invalid) as e:
        check(entrypoint, source, files)
    return e.value


def test_plain_functions_pass() -> None:
    assert check("main", "import json, re\nfrom collections import Counter\n\ndef main(args):\n    return {}\n")
    assert check("handler", "class Handler:\n    pass\n\nhandler = Handler()\n")
    assert check("main", "import sys\nif sys.version_info >= (3, 11):\n    def main(a):\n        return {}\n"
                  "else:\n    main = None\n")
    assert check("main", "try:\n    import ujson as json\nexcept ImportError:\n    import json\n\n"
                  "def main(a):\n    return json.loads('{}')\n")  # a guarded import of a missing module


def test_code_this_parser_cannot_read_is_left_to_a_worker() -> None:
    assert check("main", "def main(args):\n    x = 1\n    return x +\n") is False
    # GraalPy 25 speaks 3.12: its syntax is for the worker to judge where the gateway runs 3.11
    pep695 = "type Point = tuple[int, int]\ndef main[T](a: T) -> T:\n    return a\n"
    assert check("main", pep695) is (sys.version_info >= (3, 12))
    assert check("main", "def main(a):\n    return {}\n") is True


def test_an_unbound_entrypoint_is_refused_unless_the_module_may_bind_it_dynamically() -> None:
    e = refused("handler", "def main(a):\n    return {}\n")
    assert e.extra["type"] == "EntrypointError" and "'handler'" in e.message
    assert check("main", files={"__main__.py": "from helpers import *\n", "helpers.py": "def main(a): 1"})
    assert check("main", "globals()['main'] = lambda a: {}\n")
    assert check("main", "def setup():\n    global main\n    main = lambda a: {}\n\nsetup()\n")


def test_an_unconditional_import_of_a_missing_module_is_refused_with_its_line() -> None:
    e = refused(source="import json\nimport numpy as np\n\ndef main(a):\n    return {}\n")
    assert e.extra == {"type": "ModuleNotFoundError", "line": 2} and "'numpy'" in e.message
    e = refused(source="from requests.adapters import HTTPAdapter\ndef main(a):\n    return {}\n")
    assert "'requests'" in e.message
    assert check("main", "from . import x\nimport polyglot\n\ndef main(a):\n    return {}\n")


def test_a_zip_provides_its_own_modules_and_each_file_is_parsed() -> None:
    files = {"__main__.py": "from handler import main\nimport util.text\n",
             "handler.py": "def main(a):\n    return {}\n", "util/__init__.py": "",
             "util/text.py": "X = 1\n", "README.md": "not python"}
    assert check("main", files=files)
    assert check("main", files={**files, "util/text.py": "def f(:\n"}) is False
    e = refused(files={"__main__.py": "import handler\n", "handler.py": "def main(a): 1"})
    assert e.extra["type"] == "EntrypointError"

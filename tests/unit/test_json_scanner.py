"""The json scanner every GraalPy context gets (isolates/.../json_scanner.py) answers as json's own
does: the same values, and the same errors at the same places. Run here under CPython, with
CPython's C scanner standing in for GraalPy's Java one as the fallback; tests/test_runtime_contract.py
runs it in a real worker."""

from __future__ import annotations

import _json
import json
import math
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

SOURCE = (Path(__file__).resolve().parents[2] / "isolates" / "src" / "main" / "resources" / "dev" / "graalvisor"
          / "isolates" / "json_scanner.py").read_text(encoding="utf-8")


class Counted:
    """The C scanner, counting the documents handed back to it."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, context: Any) -> Any:
        c_scan = _json.make_scanner(context)

        def scan(s: str, idx: int) -> Any:
            self.calls += 1
            return c_scan(s, idx)

        return scan


@pytest.fixture(scope="module")
def fallback() -> Counted:
    return Counted()


@pytest.fixture(scope="module")
def decoder_class(fallback: Counted) -> type[json.JSONDecoder]:
    namespace: dict[str, Any] = {}
    exec(compile(SOURCE.replace("\n__gv_install_json_scanner()\n", "\n"), "json_scanner.py", "exec"), namespace)
    make_scanner = namespace["__gv_json_scanner"](fallback, _json.scanstring)

    class Decoder(json.JSONDecoder):
        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self.scan_once = make_scanner(self)

    return Decoder


def outcome(doc: str, **kw: Any) -> tuple[Any, ...]:
    try:
        return "ok", repr(json.loads(doc, **kw))
    except (ValueError, RecursionError) as e:
        return "error", type(e).__name__, str(e)


EDGES = [
    "{}", "[]", " { } ", "[ ]", '{"a":1}', '{"a" : 1 , "b" :[1,2 ,3] }', '"x"', '"a\\nb"', '"\\u00e9\\ud83d\\ude00"',
    "1", "-1", "-0", "0", "01", "1.", "1.5", "-1.5e3", "1e", "1E+2", "1e-2", "-", "--1", "-a", "NaN", "Infinity",
    "-Infinity", "-Inf", "nul", "null", "true", "false", "tru", "[1,]", '{"a":1,}', '{"a"}', "{a:1}", "[1 2]", '"abc',
    '"a\tb"', '"a\x00"', '["\u00a0"]', "", " ", "[", "{", '{"a":', "[1,2", '{"a":1', '"\u00e9"', "[1e400]", "1" * 5000,
    "[" * 600 + "]" * 600, "[" * 3000 + "]" * 3000, '{"a":[{"b":null}]}x', "  7  ", "[-]", "[.5]", "[1,\n2,\r\n3\t]",
    '{"x": {"y": [true, false, null, 1.0, "s"]}}', '{"a":1,"a":2}', '"\\x"', '"\\u12"', "[0.0e0]", "[-0.0]", "123abc",
    '{"a" 1}', '{"a":1 "b":2}', '[1,,2]', '[,1]', '{,}', '{"a":}', '["a" "b"]', "[tru]", "[NaN, Infinity, -Infinity]",
]


def random_value(r: random.Random, depth: int) -> Any:
    k = r.randrange(8 if depth < 4 else 5)
    if k == 0:
        return r.randrange(-10**12, 10**12)
    if k == 1:
        return r.random() * 10 ** r.randrange(-10, 10)
    if k == 2:
        chars = [r.choice([r.randrange(32, 127), r.randrange(0, 0x3000), 10, 92, 34]) for _ in range(r.randrange(10))]
        return "".join(map(chr, chars))
    if k == 3:
        return r.choice([None, True, False])
    if k == 4:
        return r.choice([math.inf, -math.inf])
    if k in (5, 6):
        return {str(r.random()): random_value(r, depth + 1) for _ in range(r.randrange(5))}
    return [random_value(r, depth + 1) for _ in range(r.randrange(5))]


def documents() -> list[str]:
    r = random.Random(20261204)
    docs = list(EDGES)
    for _ in range(1500):
        doc = json.dumps(random_value(r, 0), indent=r.choice([None, 1, "\t"]), ensure_ascii=r.choice([True, False]),
                         separators=r.choice([None, (",", ":")]))
        docs.append(doc)
        if len(doc) > 2:  # one character changed, and cut short
            at = r.randrange(len(doc))
            docs.append(doc[:at] + r.choice('{}[],:"x1 -e.\\') + doc[at + 1:])
            docs.append(doc[:at])
    return docs


@pytest.mark.parametrize("options", [{}, {"strict": False}, {"parse_float": Decimal, "parse_int": str},
                                     {"parse_constant": lambda name: name.lower()}, {"object_pairs_hook": list}],
                         ids=["defaults", "not-strict", "parse-functions", "parse-constant", "pairs-hook"])
def test_values_and_errors_are_jsons_own(decoder_class: type[json.JSONDecoder], options: dict[str, Any]) -> None:
    for doc in documents():
        assert outcome(doc, cls=decoder_class, **options) == outcome(doc, **options), doc[:200]


def test_well_formed_documents_never_go_back_to_the_fallback(decoder_class: type[json.JSONDecoder],
                                                            fallback: Counted) -> None:
    r = random.Random(7)
    docs = [json.dumps(random_value(r, 0), separators=r.choice([None, (",", ":")])) for _ in range(500)]
    docs.append(json.dumps({"records": [{"id": i, "name": f"user{i}", "tags": ["a", "b"], "ok": i % 3 != 0}
                                        for i in range(2000)]}, separators=(",", ":")))
    before = fallback.calls
    for doc in docs:
        assert json.loads(doc, cls=decoder_class) == json.loads(doc)
    assert fallback.calls == before


def test_hooks_and_non_str_input_go_to_the_fallback(decoder_class: type[json.JSONDecoder], fallback: Counted) -> None:
    before = fallback.calls
    assert json.loads('{"a": {"b": 1}}', cls=decoder_class, object_hook=lambda d: sorted(d)) == ["a"]
    assert fallback.calls == before + 1
    decoder = decoder_class()
    with pytest.raises(TypeError):
        decoder.scan_once(b"[1]", 0)  # type: ignore[attr-defined]
    assert fallback.calls == before + 2

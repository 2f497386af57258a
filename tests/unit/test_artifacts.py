"""Artifacts: what is refused before anything is stored, and what a worker is given to load."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from graalvisor.domain import Invalid
from graalvisor.domain.artifacts import check, is_archive, load_spec
from graalvisor.domain.payloads import decode_code, parse_params
from tests.support import zipped


def test_source_becomes_source() -> None:
    spec = load_spec("k", "js", "main", "instance", {"A": "1"}, b"function main(){}", Path("/x"))
    assert spec == {"key": "k", "language": "js", "entrypoint": "main", "isolation": "instance", "env": {"A": "1"},
                    "source": "function main(){}"}


def test_zip_becomes_text_files_and_skips_binary_ones() -> None:
    data = zipped({"__main__.py": b"def main(a): return a", "lib/x.py": b"X = 1", "blob.bin": b"\xff\xfe\x00"})
    assert is_archive(data)
    check("python", data)
    spec = load_spec("k", "python", "main", "instance", {}, data, Path("/x"))
    assert spec["files"] == {"__main__.py": "def main(a): return a", "lib/x.py": "X = 1"}


def test_java_is_a_path_to_the_jar() -> None:
    data = zipped({"t/Hello.class": b"\xca\xfe"})
    check("java", data)
    spec = load_spec("k", "java", "t.Hello", "instance", {}, data, Path("/code/abc"))
    assert spec["artifact_path"] == "/code/abc"
    assert "source" not in spec and "files" not in spec


@pytest.mark.parametrize(("language", "data", "message"), [
    ("java", b"class X {}", "must be uploaded as a jar"),
    ("python", zipped({"main.py": b"x"}), "__main__.py"),
    ("js", b"\xff\xfe not utf-8", "UTF-8"),
    ("js", b"PK\x03\x04 truncated", "not a valid zip"),
])
def test_refused(language: str, data: bytes, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        check(language, data)


def test_decode_code() -> None:
    assert decode_code("hi", binary=False) == b"hi"
    assert decode_code(base64.b64encode(b"\x00\x01").decode(), binary=True) == b"\x00\x01"
    with pytest.raises(Invalid, match="base64"):
        decode_code("not base64!!", binary=True)


@pytest.mark.parametrize(("body", "params"), [(b"", b"{}"), (b"  \n", b"{}"), (b'{"a": 1}', b'{"a": 1}')])
def test_params(body: bytes, params: bytes) -> None:
    assert parse_params(body) == params


@pytest.mark.parametrize(("body", "message"), [(b"[1]", "JSON object"), (b"{oops", "not JSON"), (b"3", "object")])
def test_bad_params(body: bytes, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        parse_params(body)

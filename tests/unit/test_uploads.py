"""The one builder of PUT /functions/{name} bodies."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path

import pytest

from graalvisor.uploads import UnknownLanguage, file_upload, language_of, upload_body


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("__main__.py", "def main(a):\n    return {}\n")
    return buf.getvalue()


def test_text_travels_as_text_and_archives_as_base64() -> None:
    assert upload_body("js", "function main(){}") == {"language": "js", "code": "function main(){}", "binary": False}
    assert upload_body("python", "é = 1\n".encode())["code"] == "é = 1\n"
    archive = _zip()
    body = upload_body("python", archive, entrypoint="main", env={"A": "b"})
    assert body["binary"] is True and base64.b64decode(body["code"]) == archive
    assert body["entrypoint"] == "main" and body["env"] == {"A": "b"}
    assert upload_body("js", b"\xff\xfe not utf-8")["binary"] is True  # never mangled into text


def test_files_and_their_languages(tmp_path: Path) -> None:
    (tmp_path / "f.js").write_text("function main(){}")
    (tmp_path / "f.py").write_text("def main(a):\n    return {}\n")
    (tmp_path / "f.jar").write_bytes(_zip())
    (tmp_path / "f.zip").write_bytes(_zip())
    assert file_upload(tmp_path / "f.js") == upload_body("js", "function main(){}")
    assert file_upload(tmp_path / "f.py", timeout_ms=5)["timeout_ms"] == 5
    jar = file_upload(tmp_path / "f.jar", entrypoint="p.C")
    assert jar["language"] == "java" and jar["binary"] is True and jar["entrypoint"] == "p.C"
    assert language_of(Path("A.JS")) == "js"
    with pytest.raises(UnknownLanguage):
        file_upload(tmp_path / "f.zip")  # a zip may hold either guest language
    assert file_upload(tmp_path / "f.zip", "python")["language"] == "python"

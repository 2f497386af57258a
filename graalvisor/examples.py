"""Deploys the functions a folder's ``manifest.json`` lists, over HTTP, once the daemon answers."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger("graalvisor.examples")


def upload_body(entry: dict[str, Any], folder: Path) -> dict[str, Any]:
    path = folder / entry["file"]
    data = path.read_bytes()
    binary = path.suffix in (".jar", ".zip")
    body = {k: v for k, v in entry.items() if k not in ("name", "file")}
    body["code"] = base64.b64encode(data).decode() if binary else data.decode()
    body["binary"] = binary
    return body


def deploy_folder(client: httpx.Client, folder: Path) -> list[str]:
    manifest = json.loads((folder / "manifest.json").read_text())
    deployed = []
    for entry in manifest["functions"]:
        response = client.put(f"/functions/{entry['name']}", json=upload_body(entry, folder))
        if response.is_success:
            deployed.append(entry["name"])
        else:
            log.error("could not deploy %s: %s", entry["name"], response.text)
    return deployed


def deploy_when_ready(url: str, folders: list[Path], timeout_s: float = 300) -> None:
    def run() -> None:
        deadline = time.monotonic() + timeout_s
        with httpx.Client(base_url=url, timeout=120) as client:
            while time.monotonic() < deadline:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
            for folder in folders:
                names = deploy_folder(client, folder)
                log.info("deployed %d example functions from %s: %s", len(names), folder, ", ".join(names))

    threading.Thread(target=run, name="deploy-examples", daemon=True).start()

"""Deploys the functions a folder's ``manifest.json`` lists, over HTTP, once the daemon answers."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from graalvisor.uploads import file_upload

log = logging.getLogger("graalvisor.examples")


def manifest_upload(entry: dict[str, Any], folder: Path) -> dict[str, Any]:
    """A manifest entry's body: its file, and every other key of the entry as the function's settings."""
    config = {k: v for k, v in entry.items() if k not in ("name", "file", "language")}
    return file_upload(folder / entry["file"], entry.get("language"), **config)


def deploy_folder(client: httpx.Client, folder: Path) -> list[str]:
    manifest = json.loads((folder / "manifest.json").read_text())
    deployed = []
    for entry in manifest["functions"]:
        response = client.put(f"/functions/{entry['name']}", json=manifest_upload(entry, folder))
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

"""Runs a script against graalvisor with the official npm ``openwhisk`` client: ``ow`` is a client
of the daemon, and what the script's async body returns (or the error it throws) comes back as
JSON."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PRELUDE = """
const openwhisk = require('openwhisk');
const ow = openwhisk({apihost: process.env.OW_APIHOST, api_key: process.env.OW_AUTH, namespace: process.env.OW_NS});
const fs = require('fs');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function activation(id) {  // a non-blocking call's record exists once the call has ended
  for (let i = 0; i < 600; i++) {
    try { return await ow.activations.get({activationId: id}); } catch (e) { if (e.statusCode !== 404) throw e; }
    await sleep(100);
  }
  throw new Error('activation ' + id + ' never appeared');
}
(async () => {
BODY
})().then(
  (r) => process.stdout.write(JSON.stringify({ok: r === undefined ? null : r})),
  (e) => process.stdout.write(JSON.stringify({error: e.message, statusCode: e.statusCode || null,
                                               body: e.error || null})));
"""


def run(url: str, credential: str | None, body: str, namespace: str | None = None, timeout: float = 180) -> Any:
    """The script's ``{"ok": value}`` or ``{"error", "statusCode", "body"}``."""
    env = {"OW_APIHOST": url, "OW_AUTH": credential or "none:none", "PATH": "/usr/bin:/bin"}
    if namespace:
        env["OW_NS"] = namespace
    out = subprocess.run(["node", "-e", PRELUDE.replace("BODY", body)], cwd=HERE, env=env, capture_output=True,
                         text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)

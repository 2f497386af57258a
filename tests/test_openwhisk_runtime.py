"""OpenWhisk's runtime contract through its API and client: timers, rejections, exit, per-call __OW_*
environment, and a zip carrying an npm package in node_modules."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.openwhisk.client import HERE
from tests.support import Daemon, zipped
from tests.test_openwhisk import ok, ow


def test_a_blocking_call_past_its_wait_turns_into_an_activation_id(daemon: Daemon) -> None:
    # The shared daemon waits 5 s (--blocking-wait-s); this action takes about 7.
    ok(ow(daemon, """await ow.actions.create({name: 'ow-long', action:
        "function main() { return new Promise((r) => setTimeout(() => r({done: true}), 7000)); }"});"""))
    answer = ok(ow(daemon, """
        const r = await ow.actions.invoke({name: 'ow-long', blocking: true});
        return {r, a: await activation(r.activationId)};"""))
    assert set(answer["r"]) == {"activationId"}
    assert answer["a"]["response"]["result"] == {"done": True} and answer["a"]["duration"] >= 6000



def test_an_action_learns_its_activation_from_the_environment(daemon: Daemon) -> None:
    ok(ow(daemon, """await ow.actions.create({name: 'ow-env', annotations: {'provide-api-key': true}, action: `
        function main() {
          const e = process.env;
          return {id: e.__OW_ACTIVATION_ID, name: e.__OW_ACTION_NAME, ns: e.__OW_NAMESPACE, host: e.__OW_API_HOST,
                  key: e.__OW_API_KEY, deadline: Number(e.__OW_DEADLINE)};
        }`});
        await ow.actions.create({name: 'ow-env-py', kind: 'python:3', action: `import os
def main(args):
    return {k: os.environ.get('__OW_' + k) for k in ('ACTIVATION_ID', 'ACTION_NAME', 'API_KEY')}
`});"""))
    a = ok(ow(daemon, "return await ow.actions.invoke({name: 'ow-env', blocking: true});"))
    env = a["response"]["result"]
    assert env["id"] == a["activationId"] and env["name"] == "/guest/ow-env" and env["ns"] == "guest"
    assert env["host"] == daemon.url and env["key"] == daemon.credential
    assert env["deadline"] > a["start"]
    b = ok(ow(daemon, "return await ow.actions.invoke({name: 'ow-env-py', blocking: true});"))
    assert b["response"]["result"] == {"ACTIVATION_ID": b["activationId"], "ACTION_NAME": "/guest/ow-env-py",
                                       "API_KEY": None}  # no provide-api-key annotation: no key


def test_a_rejected_value_is_the_activations_error(daemon: Daemon) -> None:
    ok(ow(daemon, """await ow.actions.create({name: 'ow-reject', action:
        "function main() { return Promise.reject({msg: 'no such user', code: 7}); }"});"""))
    answer = ow(daemon, "return await ow.actions.invoke({name: 'ow-reject', blocking: true});")
    assert answer["statusCode"] == 502, answer
    assert answer["body"]["response"]["result"] == {"error": {"msg": "no such user", "code": 7}}
    assert answer["body"]["response"]["status"] == "application error"


def test_a_zip_with_a_package_from_npm_in_node_modules(daemon: Daemon, tmp_path: Path) -> None:
    """semver, as `npm install` left it in tests/openwhisk/node_modules, zipped with the action."""
    package = HERE / "node_modules" / "semver"
    files: dict[str, str | bytes] = {
        f"node_modules/semver/{p.relative_to(package)}": p.read_bytes()
        for p in package.rglob("*") if p.is_file() and not p.relative_to(package).parts[0] == "bin"}
    files["package.json"] = json.dumps({"name": "ow-semver", "main": "action.js", "dependencies": {"semver": "^7"}})
    files["action.js"] = ("const semver = require('semver');\n"
                          "exports.main = (p) => ({ok: semver.satisfies(p.v, '^1.2.0'), max: semver.maxSatisfying("
                          "['1.2.3', '1.9.0', '2.0.0'], '^1.0.0'), clean: semver.clean(' =v1.2.3 ')});\n")
    archive = tmp_path / "action.zip"
    archive.write_bytes(zipped(files))
    ok(ow(daemon, f"await ow.actions.create({{name: 'ow-semver', kind: 'nodejs:20', "
                  f"action: fs.readFileSync({json.dumps(str(archive))})}});"))
    got = ok(ow(daemon, "return await ow.actions.get({name: 'ow-semver'});"))
    assert got["exec"]["binary"] is True  # told from the code: the client does not say
    assert ok(ow(daemon, "return await ow.actions.invoke({name: 'ow-semver', params: {v: '1.4.0'}, blocking: true, "
                         "result: true});")) == {"ok": True, "max": "1.9.0", "clean": "1.2.3"}


def test_exit_is_a_developer_error(daemon: Daemon) -> None:
    ok(ow(daemon, """await ow.actions.create({name: 'ow-exit', action: "function main() { process.exit(3); }"});"""))
    answer = ow(daemon, "return await ow.actions.invoke({name: 'ow-exit', blocking: true});")
    assert answer["statusCode"] == 502, answer
    response = answer["body"]["response"]
    assert response["status"] == "action developer error" and "called exit (3)" in response["result"]["error"]


def test_a_call_never_sees_the_key_of_the_call_before(daemon: Daemon) -> None:
    """A web call comes without a key; an invoke with one, and the version asks for it
    (provide-api-key): the web call after a keyed one must find no __OW_API_KEY."""
    ok(ow(daemon, """
        const annotations = {'web-export': true, 'provide-api-key': true};
        await ow.actions.create({name: 'ow-key-js', annotations,
                                 action: "function main() { return {key: process.env.__OW_API_KEY || null}; }"});
        await ow.actions.create({name: 'ow-key-py', kind: 'python:3', annotations, action: `import os
def main(args):
    return {'key': os.environ.get('__OW_API_KEY')}
`});"""))
    with daemon.client() as keyed, httpx.Client(base_url=daemon.url) as web:
        for name in ("ow-key-js", "ow-key-py"):
            for _ in range(3):
                assert keyed.post(f"/invoke/{name}").json() == {"key": daemon.credential}
                assert web.get(f"/api/v1/web/guest/default/{name}.json").json() == {"key": None}

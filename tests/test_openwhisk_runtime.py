"""OpenWhisk's Node.js runtime contract through its API: timers, per-call __OW_* environment."""

from __future__ import annotations

from tests.support import Daemon
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

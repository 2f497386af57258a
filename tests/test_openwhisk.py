"""OpenWhisk's REST API, driven by its official npm client (`openwhisk`) against the shared daemon:
actions of each language created, read, listed, invoked (blocking and not), updated and deleted;
activations, their results and logs; keys and namespaces; web actions over plain HTTP."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.openwhisk.client import run
from tests.support import Daemon

JS_V1 = "function main(p) { console.log('js got ' + p.name); return {greeting: p.greet + ' ' + p.name}; }"
JS_V2 = "function main(p) { return {greeting: 'v2 ' + p.name}; }"
PY_V1 = ("def main(args):\n    print('py got', args['name'])\n"
         "    return {'greeting': args['greet'] + ' ' + args['name']}\n")
PY_V2 = "def main(args):\n    return {'greeting': 'v2 ' + args['name']}\n"
JAVA_V1 = """
package ow;
import com.google.gson.JsonObject;
public class Hello {
    public static JsonObject main(JsonObject args) {
        String name = args.get("name").getAsString();
        System.out.println("java got " + name);
        JsonObject r = new JsonObject();
        r.addProperty("greeting", args.get("greet").getAsString() + " " + name);
        return r;
    }
}
"""
JAVA_V2 = JAVA_V1.replace('args.get("greet").getAsString() + " " + name', '"v2 " + name').replace(
    'System.out.println("java got " + name);', "")


def ow(daemon: Daemon, body: str, credential: str | None = None, namespace: str | None = None) -> Any:
    return run(daemon.url, credential or daemon.credential, body, namespace)


def ok(answer: dict[str, Any]) -> Any:
    assert "ok" in answer, answer
    return answer["ok"]


def code_of(language: str, version: int, hello_jar_of: Any) -> tuple[str, str]:
    """(kind, the client's `action` argument as JS source)."""
    if language == "nodejs":
        return "nodejs:20", json.dumps(JS_V1 if version == 1 else JS_V2)
    if language == "python":
        return "python:3", json.dumps(PY_V1 if version == 1 else PY_V2)
    jar = hello_jar_of(JAVA_V1 if version == 1 else JAVA_V2)
    return "java:8", f"Buffer.from({json.dumps(base64.b64encode(jar).decode())}, 'base64')"


@pytest.fixture(scope="module")
def hello_jar_of() -> Any:
    from tests.support import build_jar

    made: dict[str, bytes] = {}

    def make(source: str) -> bytes:
        if source not in made:
            made[source] = build_jar({"ow/Hello.java": source})
        return made[source]

    return make


@pytest.mark.parametrize("language", ["nodejs", "python", "java"])
def test_an_action_lives_its_whole_life_through_the_official_client(daemon: Daemon, language: str,
                                                                     hello_jar_of: Any) -> None:
    name = f"ow-life-{language}"
    kind, v1 = code_of(language, 1, hello_jar_of)
    _, v2 = code_of(language, 2, hello_jar_of)
    main = "exec: {main: 'ow.Hello'}," if language == "java" else ""
    created = ok(ow(daemon, f"""
        return await ow.actions.create({{name: '{name}', action: {v1}, kind: '{kind}', {main}
                                        params: {{greet: 'hello'}}, annotations: {{team: 'a'}}}});"""))
    assert created["name"] == name and created["namespace"] == "guest" and created["version"] == "0.0.1"
    assert created["exec"]["kind"] == kind and created["limits"]["timeout"] == 60000
    assert {"key": "greet", "value": "hello"} in created["parameters"]
    assert {"key": "team", "value": "a"} in created["annotations"]

    again = ow(daemon, f"return await ow.actions.create({{name: '{name}', action: {v1}, kind: '{kind}', {main}}});")
    assert again["statusCode"] == 409, again

    got = ok(ow(daemon, f"return await ow.actions.get({{name: '{name}'}});"))
    if language != "java":
        assert got["exec"]["code"] == json.loads(v1) and got["exec"]["binary"] is False
    else:
        assert got["exec"]["binary"] is True and got["exec"]["main"] == "ow.Hello"
    listed = ok(ow(daemon, "return await ow.actions.list({limit: 200});"))
    assert name in [a["name"] for a in listed] and all("code" not in a["exec"] for a in listed)

    result = ok(ow(daemon, f"return await ow.actions.invoke({{name: '{name}', params: {{name: 'ada'}}, "
                           "blocking: true, result: true});"))
    assert result == {"greeting": "hello ada"}  # the default parameter merged under the call's
    full = ok(ow(daemon, f"return await ow.actions.invoke({{name: '{name}', params: {{name: 'bob', greet: 'hi'}}, "
                         "blocking: true});"))
    assert full["response"] == {"status": "success", "statusCode": 0, "success": True,
                                "result": {"greeting": "hi bob"}, "size": len('{"greeting":"hi bob"}')}
    assert full["name"] == name and full["end"] >= full["start"] > 0 and len(full["activationId"]) == 32
    assert {"key": "path", "value": f"guest/{name}"} in full["annotations"]

    background = ok(ow(daemon, f"""
        const {{activationId}} = await ow.actions.invoke({{name: '{name}', params: {{name: 'cy'}}}});
        const a = await activation(activationId);
        const logs = await ow.activations.logs({{activationId}});
        const result = await ow.activations.result({{activationId}});
        return {{activationId, a, logs, result}};"""))
    assert background["a"]["activationId"] == background["activationId"]
    assert background["a"]["response"]["result"] == {"greeting": "hello cy"}
    printed = {"nodejs": "js got cy", "python": "py got cy", "java": "java got cy"}[language]
    assert background["logs"]["logs"] == [printed]
    assert background["result"]["result"] == {"greeting": "hello cy"} and background["result"]["success"] is True

    recent = ok(ow(daemon, f"return await ow.activations.list({{name: '{name}', limit: 5, docs: true}});"))
    assert background["activationId"] in [a["activationId"] for a in recent]
    assert all(a["name"] == name for a in recent)

    updated = ok(ow(daemon, f"return await ow.actions.update({{name: '{name}', action: {v2}, kind: '{kind}', "
                            f"{main}}});"))
    assert updated["version"] == "0.0.2"
    assert {"key": "greet", "value": "hello"} in updated["parameters"]  # kept: the update did not name them
    assert ok(ow(daemon, f"return await ow.actions.invoke({{name: '{name}', params: {{name: 'di'}}, blocking: true, "
                         "result: true});")) == {"greeting": "v2 di"}

    assert ok(ow(daemon, f"return await ow.actions.delete({{name: '{name}'}});"))["name"] == name
    gone = ow(daemon, f"return await ow.actions.get({{name: '{name}'}});")
    assert gone["statusCode"] == 404 and gone["body"]["code"], gone


def test_an_update_without_code_changes_only_settings(daemon: Daemon) -> None:
    ok(ow(daemon, f"return await ow.actions.create({{name: 'ow-settings', action: {json.dumps(JS_V2)}}});"))
    updated = ok(ow(daemon, "return await ow.actions.update({name: 'ow-settings', action: {limits: {timeout: 1234}, "
                            "annotations: [{key: 'web-export', value: true}]}});"))
    assert updated["limits"]["timeout"] == 1234 and updated["version"] == "0.0.2"
    assert ok(ow(daemon, "return await ow.actions.invoke({name: 'ow-settings', params: {name: 'x'}, blocking: true, "
                         "result: true});")) == {"greeting": "v2 x"}


def test_failures_come_back_shaped_like_openwhisk(daemon: Daemon) -> None:
    ok(ow(daemon, """
        await ow.actions.create({name: 'ow-apperr', action: "function main() { return {error: 'nope'}; }"});
        await ow.actions.create({name: 'ow-throw', action: "function main() { throw new Error('boom'); }"});
        await ow.actions.create({name: 'ow-slow', action: "function main() { while (true) {} }",
                                 limits: {timeout: 300}});"""))
    app = ow(daemon, "return await ow.actions.invoke({name: 'ow-apperr', blocking: true, result: true});")
    assert app["statusCode"] == 502 and app["error"].endswith('"nope"'), app
    assert app["body"]["response"]["result"] == {"error": "nope"}
    assert app["body"]["response"]["status"] == "application error"
    with httpx.Client(base_url=daemon.url, auth=tuple(daemon.credential.split(":"))) as http:  # type: ignore[arg-type]
        r = http.post("/api/v1/namespaces/_/actions/ow-apperr", params={"blocking": "true", "result": "true"})
        assert r.status_code == 502 and r.json() == {"error": "nope"}
    full = ow(daemon, "return await ow.actions.invoke({name: 'ow-throw', blocking: true});")
    assert full["statusCode"] == 502 and "boom" in full["error"], full
    assert full["body"]["response"]["status"] == "application error" and full["body"]["response"]["success"] is False
    slow = ow(daemon, "return await ow.actions.invoke({name: 'ow-slow', blocking: true});")
    assert slow["statusCode"] == 502, slow
    assert slow["body"]["response"]["status"] == "action developer error"
    assert "time limits of 300 milliseconds" in slow["body"]["response"]["result"]["error"]
    assert {"key": "timeout", "value": True} in slow["body"]["annotations"]
    bad = ow(daemon, "return await ow.actions.create({name: 'ow-seq', sequence: ['/guest/ow-apperr']});")
    assert bad["statusCode"] == 400 and "sequence" in bad["error"], bad
    broken = ow(daemon, "return await ow.actions.create({name: 'ow-broken', action: 'function main( {'});")
    assert broken["statusCode"] == 400 and "does not load" in broken["error"], broken
    missing = ow(daemon, "return await ow.actions.invoke({name: 'ow-none', blocking: true});")
    assert missing["statusCode"] == 404, missing


def test_keys_and_namespaces_keep_tenants_apart(daemon: Daemon) -> None:
    ok(ow(daemon, f"await ow.actions.create({{name: 'ow-private', action: {json.dumps(JS_V2)}}});"))
    wrong = ow(daemon, "return await ow.actions.list();", credential=daemon.credential.split(":")[0] + ":wrong")
    assert wrong["statusCode"] == 401, wrong
    other = daemon.create_key("other")
    assert ok(ow(daemon, "return await ow.actions.list();", credential=other)) == []
    assert ow(daemon, "return await ow.actions.get({name: 'ow-private'});", credential=other)["statusCode"] == 404
    theirs = ow(daemon, "return await ow.actions.get({name: '/guest/ow-private'});", credential=other)
    assert theirs["statusCode"] == 403 and "other" in theirs["error"], theirs
    mine = ok(ow(daemon, "return await ow.actions.invoke({name: 'ow-private', params: {name: 'a'}, blocking: true});"))
    seen = ow(daemon, f"return await ow.activations.get({{activationId: '{mine['activationId']}'}});", credential=other)
    assert seen["statusCode"] == 404, seen
    assert ok(ow(daemon, "return await ow.activations.list();", credential=other)) == []
    with httpx.Client(base_url=daemon.url) as anonymous:
        r = anonymous.get("/api/v1/namespaces/_/actions")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
        assert "graalvisor keys create" in r.json()["error"]


def test_a_web_action_serves_http(daemon: Daemon) -> None:
    ok(ow(daemon, """
        await ow.actions.create({name: 'ow-web', annotations: {'web-export': true}, action: `function main(p) {
          return {statusCode: 201, headers: {'x-seen': p.__ow_method + ':' + p.__ow_path},
                  body: {q: p.q, posted: p.posted || null, agent: p.__ow_headers['x-agent'] || null}};
        }`});
        await ow.actions.create({name: 'ow-hidden', action: "function main() { return {body: 'x'}; }"});
        await ow.actions.create({name: 'ow-png', annotations: {'web-export': true}, action: `function main() {
          return {headers: {'content-type': 'image/png'}, body: 'iVBORw0KGgo='};
        }`});
        await ow.actions.create({name: 'ow-guarded', annotations: {'web-export': true, 'require-whisk-auth': 's3cret'},
                                 action: "function main() { return {body: 'in'}; }"});
        await ow.actions.create({name: 'ow-keyed', annotations: {'web-export': true, 'require-whisk-auth': true},
                                 action: "function main(p) { return {body: p.__ow_user}; }"});"""))
    with httpx.Client(base_url=daemon.url) as web:  # no key: web actions are public
        r = web.get("/api/v1/web/guest/default/ow-web.http/some/path", params={"q": "1"},
                    headers={"x-agent": "t"})
        assert r.status_code == 201 and r.headers["x-seen"] == "get:/some/path", r.text
        assert r.json() == {"q": "1", "posted": None, "agent": "t"}
        r = web.post("/api/v1/web/guest/default/ow-web", json={"posted": [1, 2]})
        assert r.status_code == 201 and r.json()["posted"] == [1, 2] and r.headers["x-seen"] == "post:"
        r = web.get("/api/v1/web/guest/default/ow-web.json", params={"q": "2"})
        assert r.status_code == 200 and r.json()["statusCode"] == 201 and r.json()["body"]["q"] == "2"
        png = web.get("/api/v1/web/guest/default/ow-png.http")
        assert png.status_code == 200 and png.content == base64.b64decode("iVBORw0KGgo=")
        assert png.headers["content-type"] == "image/png"
        spoof = web.get("/api/v1/web/guest/default/ow-web.http", params={"__ow_method": "put"})
        assert spoof.status_code == 400 and "__ow_method" in spoof.json()["error"]
        assert web.get("/api/v1/web/guest/default/ow-hidden.http").status_code == 404
        assert web.get("/api/v1/web/guest/default/ow-nothing.http").status_code == 404
        assert web.get("/api/v1/web/guest/default/ow-guarded.http").status_code == 401
        r = web.get("/api/v1/web/guest/default/ow-guarded.http", headers={"x-require-whisk-auth": "s3cret"})
        assert r.status_code == 200 and r.text == "in"
        assert web.get("/api/v1/web/guest/default/ow-keyed.http").status_code == 401
        r = web.get("/api/v1/web/guest/default/ow-keyed.http", auth=daemon.auth())
        assert r.status_code == 200 and r.text == "guest"  # __ow_user: who called


def test_the_api_says_what_it_runs(daemon: Daemon) -> None:
    with daemon.client() as c:
        info = c.get("/api/v1").json()
        assert info["runtimes"]["nodejs"][0]["kind"] == "nodejs:20" and "python" in info["runtimes"]
        assert c.get("/api/v1/namespaces").json() == ["guest"]

"""``graalvisor serve | keys | deploy | invoke | ls | rm | logs``: the daemon, and a client of its HTTP API."""

from __future__ import annotations

import argparse
import gc
import ipaddress
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from graalvisor.config import Config, serve_fields
from graalvisor.domain import Invalid, check_namespace
from graalvisor.domain.functions import default as function_default
from graalvisor.registry import KeyStore
from graalvisor.uploads import UnknownLanguage, file_upload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="graalvisor", description=__doc__)
    parser.add_argument("--url", default=os.environ.get("GRAALVISOR_URL", "http://127.0.0.1:8080"),
                        help="the daemon's address (client commands)")
    parser.add_argument("--auth", default=os.environ.get("GRAALVISOR_AUTH"), metavar="UUID:KEY",
                        help="API key for client commands (default: $GRAALVISOR_AUTH)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the daemon")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    add_config_flags(serve)
    serve.add_argument("--deploy", type=Path, action="append", default=[],
                       help="deploy every function in this folder once the daemon is up")

    deploy = sub.add_parser("deploy", help="upload a function (.js, .py, .zip or .jar)")
    deploy.add_argument("name")
    deploy.add_argument("file", type=Path)
    deploy.add_argument("--language", choices=["js", "python", "java"])
    deploy.add_argument("--entrypoint", default=function_default("entrypoint"))
    deploy.add_argument("--timeout-ms", type=int, default=function_default("timeout_ms"))
    deploy.add_argument("--memory-mb", type=int, default=function_default("memory_mb"))
    deploy.add_argument("--concurrency", type=int, default=function_default("concurrency"))
    deploy.add_argument("--isolation", choices=["instance", "invocation"], default=function_default("isolation"))
    deploy.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")

    invoke = sub.add_parser("invoke", help="call a function with JSON params")
    invoke.add_argument("name")
    invoke.add_argument("params", nargs="?", default="{}")

    sub.add_parser("ls", help="list functions")
    rm = sub.add_parser("rm", help="delete a function")
    rm.add_argument("name")
    logs = sub.add_parser("logs", help="recent invocations of a function, with what they printed")
    logs.add_argument("name")
    logs.add_argument("-n", type=int, default=10)

    keys = sub.add_parser("keys", help="API keys of namespaces (works whether or not the daemon runs)")
    keys.add_argument("--data-dir", type=Path, default=Config().data_dir)
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_create = keys_sub.add_parser("create", help="a new key for a namespace; prints uuid:key once")
    keys_create.add_argument("namespace")
    keys_list = keys_sub.add_parser("list", help="keys (uuids, never the secrets) of one namespace or all")
    keys_list.add_argument("namespace", nargs="?")
    keys_revoke = keys_sub.add_parser("revoke", help="revoke a namespace's keys, or one of them")
    keys_revoke.add_argument("namespace")
    keys_revoke.add_argument("uuid", nargs="?")

    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve_command(args)
    if args.command == "keys":
        return keys_command(args)
    auth = httpx.BasicAuth(*args.auth.split(":", 1)) if args.auth and ":" in args.auth else None
    with httpx.Client(base_url=args.url, timeout=None, auth=auth) as client:
        try:
            return CLIENT_COMMANDS[args.command](client, args)
        except httpx.ConnectError:
            print(f"error: no daemon at {args.url} (start one with `graalvisor serve`)", file=sys.stderr)
            return 2


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per user-facing Config field, with Config's own default: nothing to keep in step."""
    defaults = Config()
    for f in serve_fields():
        flag = f.metadata["flag"] or "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        if f.type in ("bool", bool):
            if f.metadata["inverted"]:
                parser.add_argument(flag, dest=f.name, action="store_false", default=default, help=f.metadata["help"])
            else:  # --x and --no-x
                parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=default,
                                    help=f.metadata["help"])
            continue
        kind = {"int": int, "float": float}.get(str(f.type), Path)
        parser.add_argument(flag, dest=f.name, type=kind, default=default,
                            help=f"{f.metadata['help']} (default: {default})")


def serve_command(args: argparse.Namespace) -> int:
    import uvicorn

    from graalvisor.api.app import create_app
    from graalvisor.api.front import front_door
    from graalvisor.api.http import OneWriteHttp

    config = Config(**{f.name: getattr(args, f.name) for f in serve_fields()})
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    loopback = is_loopback(args.host)
    store = KeyStore(config.db_path)
    try:
        keyed = store.count() > 0
    finally:
        store.close()
    if not keyed and not loopback:
        print(f"error: no API keys exist, so serving on {args.host} would let anyone in. Create one with "
              f"`graalvisor keys create NAMESPACE --data-dir {config.data_dir}`, or listen on 127.0.0.1.",
              file=sys.stderr)
        return 2
    logging.getLogger("graalvisor").info(
        "API keys: %s", "every call needs one" if keyed else
        "none, so serving without authentication, on loopback only (`graalvisor keys create NAMESPACE` adds one)")
    app = create_app(config, loopback)
    if args.deploy:
        from graalvisor.examples import deploy_when_ready

        deploy_when_ready(f"http://{args.host}:{args.port}", args.deploy)
    _quiet_gc()
    # With --telemetry every call goes through FastAPI, whose middleware makes its spans.
    served = app if config.telemetry else front_door(app)
    uvicorn.run(served, host=args.host, port=args.port, log_level="info", access_log=False, http=OneWriteHttp)
    return 0


GC_GEN0_THRESHOLD = 10_000


def _quiet_gc() -> None:
    """The gateway's cyclic collector, out of the warm path. What start-up made (modules, the app,
    the daemon: 68,000 objects) is frozen out of the collections, and a young collection waits for
    10,000 net new objects instead of 700. At c=16 the collector ran 88 young, 8 middle and 0.6
    full collections a second, 20-24 µs of the event loop's CPU a call; with this, none in a
    10 s run: a warm call's objects are freed by their counts, not by the collector (DESIGN.md,
    the warm path)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, middle, old)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name that may resolve anywhere


def keys_command(args: argparse.Namespace) -> int:
    try:
        check_namespace(args.namespace) if args.namespace else None
    except Invalid as e:
        print(f"error: {e.message}", file=sys.stderr)
        return 2
    store = KeyStore(Config(data_dir=args.data_dir).db_path)
    try:
        if args.keys_command == "create":
            key, secret = store.create(args.namespace)
            print(f"{key.uuid}:{secret}")
            print(f"# key for namespace {key.namespace}: shown once, only its hash is kept", file=sys.stderr)
        elif args.keys_command == "list":
            for key in store.list(args.namespace):
                created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(key.created_at))
                print(f"{key.uuid}  {key.namespace:<24} created {created}")
        else:
            gone = store.revoke(args.namespace, args.uuid)
            print(f"revoked {gone} key{'s' if gone != 1 else ''} of {args.namespace}", file=sys.stderr)
            return 0 if gone else 1
    finally:
        store.close()
    return 0


def upload_request(args: argparse.Namespace, path: Path) -> dict[str, Any]:
    """The JSON body of PUT /functions/{name} for a file on disk."""
    try:
        return file_upload(path, args.language, entrypoint=args.entrypoint, timeout_ms=args.timeout_ms,
                           memory_mb=args.memory_mb, concurrency=args.concurrency, isolation=args.isolation,
                           env=dict(kv.split("=", 1) for kv in args.env))
    except UnknownLanguage:
        raise SystemExit(f"error: cannot tell the language of {path.name}: pass --language") from None


def _print(response: httpx.Response) -> int:
    try:
        print(json.dumps(response.json(), indent=2))
    except ValueError:
        print(response.text)
    return 0 if response.is_success else 1


def _deploy(client: httpx.Client, args: argparse.Namespace) -> int:
    return _print(client.put(f"/functions/{args.name}", json=upload_request(args, args.file)))


def _invoke(client: httpx.Client, args: argparse.Namespace) -> int:
    response = client.post(f"/invoke/{args.name}", content=args.params.encode())
    print(f"# {response.status_code} start={response.headers.get('x-start')} "
          f"id={response.headers.get('x-invocation-id')} {response.headers.get('server-timing', '')}",
          file=sys.stderr)
    return _print(response)


def _ls(client: httpx.Client, args: argparse.Namespace) -> int:
    response = client.get("/functions")
    if not response.is_success:
        return _print(response)
    for f in response.json()["functions"]:
        print(f"{f['name']:<24} v{f['version']:<4} {f['language']:<7} {f['size']:>9} B  {f['sha256'][:12]}")
    return 0


def _rm(client: httpx.Client, args: argparse.Namespace) -> int:
    return _print(client.delete(f"/functions/{args.name}"))


def _logs(client: httpx.Client, args: argparse.Namespace) -> int:
    response = client.get(f"/functions/{args.name}/invocations", params={"limit": args.n})
    if not response.is_success:
        return _print(response)
    for inv in reversed(response.json()["invocations"]):
        print(f"{inv['id']} {inv['status']:<8} start={inv['start']} run={inv['run_ms']}ms")
        for line in inv["logs"]:
            print(f"    {line}")
    return 0


CLIENT_COMMANDS = {"deploy": _deploy, "invoke": _invoke, "ls": _ls, "rm": _rm, "logs": _logs}

if __name__ == "__main__":
    sys.exit(main())

"""Baseline instance host for Python: one CPython process runs one function, one invocation at a time.

Protocol on stdin/stdout: one JSON object per line in (params), one per line out ({result} | {error}).
The function file runs unchanged as a module named __main__-less `function`; `main` is its entry.
"""

import json
import sys
import traceback


def serve(path: str, entry: str) -> None:
    out = sys.stdout
    sys.stdout = sys.stderr  # what the function prints is a log line, never a reply
    scope: dict[str, object] = {"__name__": "function", "__file__": path}
    with open(path, encoding="utf-8") as f:
        exec(compile(f.read(), path, "exec"), scope)
    fn = scope.get(entry)
    if not callable(fn):
        out.write(json.dumps({"error": f"no function {entry} in {path}"}) + "\n")
        out.flush()
        raise SystemExit(2)
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        try:
            reply = {"result": fn(json.loads(line))}
        except Exception:
            reply = {"error": traceback.format_exc()}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "main")

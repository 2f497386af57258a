# Dynamic HTML rendering: n table rows through a tiny {{key}} template engine.
import re

M = 2147483647
_KEY = re.compile(r"\{\{(\w+)\}\}")
_ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


def escape(s):
    return "".join(_ESC.get(c, c) for c in s)


def render(template, values):
    return _KEY.sub(lambda m: escape(str(values.get(m.group(1), ""))), template)


def main(args):
    n = int(args.get("n", 200))
    s = int(args.get("seed", 7)) % (M - 1) + 1
    row = "<tr><td>{{i}}</td><td>{{value}}</td><td>{{label}}</td></tr>"
    body = []
    for i in range(n):
        s = s * 48271 % M
        body.append(render(row, {"i": i, "value": s % 100000, "label": "<item " + str(i) + ">"}))
    page = render("<html><head><title>{{title}}</title></head><body><h1>Hello {{user}}</h1>",
                  {"title": "graalvisor", "user": args.get("username", "ada")})
    page += "<table>" + "".join(body) + "</table></body></html>"
    return {"rows": n, "size": len(page)}

# JSON transform: build n records, serialise, parse, group by tag, serialise the summary.
import json

M = 2147483647
TAGS = ["red", "green", "blue", "cyan", "magenta", "yellow", "black", "white"]


def main(args):
    n = int(args.get("n", 1000))
    s = int(args.get("seed", 7)) % (M - 1) + 1
    records = []
    for i in range(n):
        s = s * 48271 % M
        records.append({"id": i, "name": "user" + str(i), "score": s % 1000, "active": s % 3 != 0,
                        "tags": [TAGS[s % 8], TAGS[(s >> 3) % 8]]})
    doc = json.dumps({"records": records}, separators=(",", ":"))
    parsed = json.loads(doc)
    groups = {}
    for r in parsed["records"]:
        if not r["active"]:
            continue
        for t in r["tags"]:
            g = groups.setdefault(t, {"count": 0, "total": 0})
            g["count"] += 1
            g["total"] += r["score"]
    top = ""
    for t in TAGS:
        if t in groups and (top == "" or groups[t]["count"] > groups[top]["count"]):
            top = t
    summary = json.dumps({t: groups[t] for t in TAGS if t in groups}, separators=(",", ":"))
    return {"n": n, "bytes": len(doc), "groups": len(groups), "top": top, "summary_bytes": len(summary)}

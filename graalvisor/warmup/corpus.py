# The base image's Python warm-up: a broad sample of what functions do (and the standard
# library they lean on), run until the JIT compilers are quiet. Each part is small.
import collections
import functools
import hashlib
import heapq
import itertools
import json
import math
import re
import zlib

M = 2147483647
_WORD = re.compile(r"(\w+)-(\d+)@(\w+)\.example\.com")
_KEY = re.compile(r"\{\{(\w+)\}\}")
Point = collections.namedtuple("Point", "x y")


class Shape:
    def __init__(self, name):
        self.name = name

    def area(self):
        return 0.0

    def describe(self):
        return "%s:%.2f" % (self.name, self.area())

    def __repr__(self):
        return f"Shape({self.name!r})"


class Rect(Shape):
    def __init__(self, w, h):
        super().__init__("rect")
        self.w, self.h = w, h

    def area(self):
        return float(self.w * self.h)


class Circle(Shape):
    def __init__(self, r):
        super().__init__("circle")
        self.r = r

    def area(self):
        return math.pi * self.r * self.r


def numbers(n, seed):
    s = seed % (M - 1) + 1
    out = []
    for _ in range(n):
        s = s * 48271 % M
        out.append(s % 1000)
    return out


def lists(xs):
    doubled = [x * 2 for x in xs if x % 3]
    ordered = sorted(xs, key=lambda x: (x % 10, -x))
    chunk = ordered[5:40:2]
    chunk.reverse()
    chunk.extend([1, 2, 3])
    chunk.insert(0, 9)
    chunk.pop()
    first, *rest = chunk
    total = sum(doubled) + first + len(rest) + max(xs) - min(xs) + xs.index(xs[3]) + xs.count(xs[0])
    total += sum(i * v for i, v in enumerate(xs[:20])) + sum(a * b for a, b in zip(xs, xs[1:]))
    return total + (1 if any(x > 990 for x in xs) else 0) + (1 if all(x >= 0 for x in xs) else 0)


def dicts(xs):
    counts = {}
    for x in xs:
        counts[x % 17] = counts.get(x % 17, 0) + 1
    squares = {k: v * v for k, v in counts.items()}
    seen = {x % 101 for x in xs}
    dd = collections.defaultdict(list)
    for x in xs[:60]:
        dd[x % 7].append(x)
    counter = collections.Counter(x % 13 for x in xs)
    queue = collections.deque(xs[:20], maxlen=10)
    queue.appendleft(5)
    ordered = collections.OrderedDict(sorted(squares.items()))
    merged = {**squares, "extra": 1}
    p = Point(3, 4)
    return (sum(squares.values()) + len(seen) + sum(len(v) for v in dd.values())
            + counter.most_common(1)[0][1] + len(queue) + len(ordered) + len(merged) + p.x * p.y
            + len(set(xs) & seen) + len(seen - set(xs)))


def strings(xs):
    words = ["w%x" % x for x in xs[:50]]
    joined = " ".join(words)
    parts = [w.upper().rjust(6, "_") for w in joined.split()]
    text = "{} words: {}".format(len(parts), ",".join(parts[:5]))
    text = f"{text.replace('W', 'v').strip().lower()} | {len(parts):04d} | {3.14159:.2f}"
    code = 0
    for ch in text:
        code = (code * 31 + ord(ch)) & 0xFFFFFFFF
    encoded = text.encode("utf-8")
    return (code + text.find("v") + text.rfind(",") + len(encoded.decode()) + len(chr(65 + (code & 15)))
            + (1 if text.startswith("5") else 0) + len("abc" * 3) + len(text.title()) + text.count("w")
            + len(str(xs[0])) + int("42") + len(repr(xs[:3])) + len(text.partition("|")[0]))


def regexes(xs):
    text = "; ".join(f"item-{x}@host{x % 7}.example.com" for x in xs[:40])
    n = sum(int(m.group(2)) + len(m.group(3)) for m in _WORD.finditer(text))
    replaced = re.sub(r"(\d+)", lambda m: str(int(m.group(1)) + 1), text)
    tpl = _KEY.sub(lambda m: m.group(1).upper(), "<td>{{a}}</td><td>{{b}}</td>")
    found = re.findall(r"host\d", text)
    parts = re.split(r";\s*", text)
    return n + len(replaced) + len(tpl) + len(found) + len(parts) + (1 if re.match(r"^item", text) else 0)


def documents(xs):
    doc = {"id": xs[0], "tags": ["t%d" % x for x in xs[:10]],
           "nested": {"values": xs[:30], "flag": True, "none": None, "ratio": xs[1] / 7}}
    text = json.dumps(doc)
    back = json.loads(text)
    pretty = json.dumps(back, indent=2, sort_keys=True)
    # records, escapes, unicode, negatives, exponents, empty containers, compact and indented:
    # the shared scanner's (json_scanner.py) paths, compiled in the image for every function
    rows = [{"id": x, "name": "user%d" % x, "note": "tab\there \u00e9" if x % 5 == 0 else "plain",
             "score": -x / 3 if x % 2 else x % 1000, "big": x * 10**6, "ok": x % 2 == 0, "none": None,
             "tags": ["a", "b"] if x % 3 else [], "sub": {} if x % 4 else {"e": 1.5e-7}} for x in xs[:120]]
    again = json.loads(pretty)["nested"]["values"] + [len(r) for r in json.loads(json.dumps(rows))]
    again += [len(r) for r in json.loads(json.dumps({"rows": rows}, separators=(",", ":")))["rows"]]
    again += [len(r) for r in json.loads(json.dumps(rows, indent=1, ensure_ascii=False))]
    # a whole call's worth: a long array of records, counters from 0, as API payloads are; and
    # strings of every width a str can have (ASCII, Latin-1, BMP, astral), empty and long ones,
    # ints of 32, 64 and more bits, every exponent form, unicode keys: a path the image never
    # took is compiled again in every clone, the scanner's whole loop with it (a shape none of
    # these covers still is: DESIGN.md, "Python isolates")
    text_forms = ["", "plain", "caf\u00e9", "en \u2013 dash \u20ac", "\u4e2d\u6587", "emoji \U0001f600", "x" * 300,
                  'q"uote\\slash\nline\u0001']
    page = [{"id": i, "user": "u%d" % x, "n": x, "on": x % 3 != 0, "tags": ["a", "b"][: x % 3],
             "text": text_forms[x % len(text_forms)], "\u00fcber": -x, "wide": [x, x << 40, x << 70][i % 3],
             "real": [x / 8, -x * 1e21, x * 1e-9, 0.0, -0.0, x / 3e5][x % 6]} for i, x in enumerate(xs)]
    again += [r["id"] for r in json.loads(json.dumps({"page": page}, separators=(",", ":")))["page"]]
    again += [len(r) for r in json.loads(json.dumps(page, ensure_ascii=False))]
    again.append(len(json.loads('[1E+5, 2e-3, -0, 1.5E-2, {"\\u00e9": [[[[]]]]}]')))
    return len(text) + len(pretty) + len(back["nested"]["values"]) + len(back["tags"]) + len(again)


def errors(xs):
    caught = 0
    for x in xs[:30]:
        try:
            if x % 3 == 0:
                raise ValueError("bad %d" % x)
            if x % 5 == 0:
                {}["missing"]
            caught += x
        except ValueError:
            caught += 1
        except KeyError as e:
            caught += len(str(e))
        finally:
            caught += 1
    return caught


def gen(n):
    for i in range(n):
        yield i * i


@functools.lru_cache(maxsize=128)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def binary(xs):
    data = bytes((x * 7) & 255 for x in xs[:256])
    buf = bytearray(data)
    buf[0:4] = b"\x01\x02\x03\x04"
    digest = hashlib.sha256(buf).hexdigest()
    packed = zlib.compress(bytes(buf) * 4)
    heap = list(xs[:50])
    heapq.heapify(heap)
    smallest = [heapq.heappop(heap) for _ in range(5)]
    return (len(digest) + len(zlib.decompress(packed)) + sum(smallest) + int.from_bytes(data[:4], "big")
            + zlib.crc32(data) % 1000 + len(data.hex()))


def objects(xs):
    shapes = [Rect(x % 10, (x >> 2) % 10) if i % 2 else Circle(x % 5) for i, x in enumerate(xs[:40])]
    total = sum(s.area() for s in shapes) + sum(len(s.describe()) for s in shapes)
    total += sum(gen(20)) + fib(25) + functools.reduce(lambda a, b: a + b, xs[:10], 0)
    total += sum(1 for _ in itertools.islice(itertools.count(), 10)) + len(list(itertools.chain(xs[:3], xs[:3])))
    total += math.floor(7.5) + round(2.5) + math.ceil(1.2) + abs(-3) + 2 ** 8 + 7 % 3 + int(math.sqrt(81))
    return int(total) + len(repr(shapes[0])) + (10 ** 20 // 7) % 1000


def main(args):
    n = int(args.get("n", 200))
    xs = numbers(n, int(args.get("seed", 7)))
    checksum = (lists(xs) + dicts(xs) + strings(xs) + regexes(xs) + documents(xs) + errors(xs) + binary(xs)
                + objects(xs))
    return {"n": n, "checksum": checksum % M}

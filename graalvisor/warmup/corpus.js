// The base image's JavaScript warm-up: a broad sample of what functions do, run until the JIT
// compilers are quiet. Not a benchmark: each part is small, and the mix is what counts.
const M = 2147483647;

class Shape {
  constructor(name) { this.name = name; }
  area() { return 0; }
  describe() { return `${this.name}:${this.area().toFixed(2)}`; }
}
class Rect extends Shape {
  constructor(w, h) { super("rect"); this.w = w; this.h = h; }
  area() { return this.w * this.h; }
}
class Circle extends Shape {
  constructor(r) { super("circle"); this.r = r; }
  area() { return Math.PI * this.r * this.r; }
}

function* range(n) { for (let i = 0; i < n; i++) yield i; }

function counter() { let c = 0; return { inc: (k) => (c += k), get: () => c }; }

function numbers(n, seed) {
  let s = (seed % (M - 1)) + 1;
  const out = [];
  for (let i = 0; i < n; i++) { s = (s * 48271) % M; out.push(s % 1000); }
  return out;
}

function arrays(xs) {
  const doubled = xs.map((x) => x * 2).filter((x) => x % 3 !== 0);
  const sum = doubled.reduce((a, b) => a + b, 0);
  const sorted = [...xs].sort((a, b) => a - b);
  const copy = sorted.slice(1, 20).concat([1, 2, 3]);
  copy.splice(2, 3);
  const [first, second, ...rest] = copy;
  return sum + first + second + rest.length + sorted.indexOf(sorted[5]) + (xs.includes(7) ? 1 : 0)
    + xs.findIndex((x) => x > 500) + (xs.some((x) => x > 990) ? 1 : 0) + (xs.every((x) => x >= 0) ? 1 : 0)
    + Array.from({ length: 5 }, (_, i) => i * i).length + xs.flatMap((x) => [x, x]).length;
}

function collections(xs) {
  const counts = new Map();
  const seen = new Set();
  const obj = {};
  for (const x of xs) {
    counts.set(x % 17, (counts.get(x % 17) || 0) + 1);
    seen.add(x % 101);
    obj["k" + (x % 23)] = (obj["k" + (x % 23)] || 0) + x;
  }
  let total = 0;
  for (const [k, v] of counts) total += k * v;
  for (const [k, v] of Object.entries(obj)) total += k.length + v;
  const merged = Object.assign({}, obj, { extra: 1 });
  const spread = { ...merged, more: 2 };
  return total + seen.size + Object.keys(spread).length + Object.values(obj).length;
}

function strings(xs) {
  const words = xs.slice(0, 50).map((x) => "w" + x.toString(16));
  const joined = words.join(" ");
  const parts = joined.split(" ").map((w) => w.toUpperCase().padStart(6, "_"));
  let text = `${parts.length} words: ${parts.slice(0, 5).join(",")}`;
  text = text.replace(/W/g, "v").trim().toLowerCase();
  let code = 0;
  for (let i = 0; i < text.length; i++) code = (code * 31 + text.charCodeAt(i)) | 0;
  return code + text.indexOf("v") + text.lastIndexOf(",") + String.fromCharCode(65 + (code & 15)).length
    + text.substring(2, 8).length + (text.startsWith("5") ? 1 : 0) + "abc".repeat(3).length
    + encodeURIComponent("a b&c").length;
}

function regexes(xs) {
  const text = xs.slice(0, 40).map((x) => `item-${x}@host${x % 7}.example.com`).join("; ");
  const re = /(\w+)-(\d+)@(\w+)\.example\.com/g;
  let m;
  let n = 0;
  while ((m = re.exec(text)) !== null) n += Number(m[2]) + m[3].length;
  const replaced = text.replace(/(\d+)/g, (d) => String(Number(d) + 1));
  const tpl = "<td>{{a}}</td><td>{{b}}</td>".replace(/\{\{(\w+)\}\}/g, (_, k) => k.toUpperCase());
  return n + replaced.length + tpl.length + (/^item/.test(text) ? 1 : 0) + text.split(/;\s*/).length
    + (text.match(/host\d/g) || []).length;
}

function json(xs) {
  const doc = { id: xs[0], tags: xs.slice(0, 10).map((x) => "t" + x),
    nested: { values: xs.slice(0, 30), flag: true, none: null, ratio: xs[1] / 7 } };
  const text = JSON.stringify(doc);
  const back = JSON.parse(text);
  const pretty = JSON.stringify(back, null, 2);
  const picked = JSON.parse(JSON.stringify(back.nested), (k, v) => (typeof v === "number" ? v + 1 : v));
  return text.length + pretty.length + picked.values.length + back.tags.length;
}

function errors(xs) {
  let caught = 0;
  for (const x of xs.slice(0, 30)) {
    try {
      if (x % 3 === 0) throw new RangeError("bad " + x);
      if (x % 5 === 0) null.boom();
      caught += x;
    } catch (e) {
      caught += e instanceof RangeError ? 1 : e instanceof TypeError ? 2 : 3;
    } finally {
      caught += 1;
    }
  }
  return caught;
}

function typed(xs) {
  const bytes = new Uint8Array(256);
  const floats = new Float64Array(64);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (xs[i % xs.length] * 7) & 255;
  for (let i = 0; i < floats.length; i++) floats[i] = Math.sqrt(bytes[i]) + Math.sin(i) * Math.log(i + 1);
  const view = new DataView(bytes.buffer);
  let acc = view.getUint32(0) ^ view.getUint16(8, true);
  for (const b of bytes.subarray(10, 40)) acc = (acc + b) | 0;
  const ints = Int32Array.from(xs.slice(0, 32));
  ints.sort();
  return acc + floats.reduce((a, b) => a + b, 0) + ints[0] + Math.max(...ints) + Math.min(...xs.slice(0, 8))
    + Math.floor(7.5) + Math.round(2.5) + Math.ceil(1.2) + Math.abs(-3) + Math.pow(2, 8) + (7 % 3);
}

function objects(xs) {
  const shapes = xs.slice(0, 40).map((x, i) => (i % 2 ? new Rect(x % 10, (x >> 2) % 10) : new Circle(x % 5)));
  const c = counter();
  let text = 0;
  for (const s of shapes) { c.inc(s.area()); text += s.describe().length; }
  let gen = 0;
  for (const i of range(20)) gen += i;
  return c.get() + text + gen + shapes.filter((s) => s instanceof Rect).length;
}

async function later(x) { return x * 2; }

async function promises(xs) {
  let total = 0;
  for (const x of xs.slice(0, 10)) total += await later(x);
  const all = await Promise.all(xs.slice(0, 5).map((x) => later(x)));
  const settled = await Promise.allSettled([Promise.resolve(1), Promise.reject(new Error("no"))]);
  return total + all.length + settled.length + (await new Promise((resolve) => resolve(3)));
}

function main(params) {
  const n = Number(params.n === undefined ? 200 : params.n);
  const xs = numbers(n, Number(params.seed === undefined ? 7 : params.seed));
  const sync = arrays(xs) + collections(xs) + strings(xs) + regexes(xs) + json(xs) + errors(xs) + typed(xs)
    + objects(xs);
  return promises(xs).then((p) => ({ n, checksum: Math.abs(Math.floor(sync + p)) % M }));
}

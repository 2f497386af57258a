// Compression: n KiB of generated text through LZW (12-bit codes packed), then decoded and checked.
// Plain ECMAScript has no deflate, so this one implements LZW itself; sizes differ from the
// deflate of the Python and Java versions, the work per byte is of the same order.
const WORDS = ["lorem", "ipsum", "dolor", "sit", "amet", "serverless", "function", "isolate",
  "graal", "polyglot", "snapshot", "worker", "trace", "azure", "cold", "warm"];

function text(size, seed) {
  const M = 2147483647;
  let s = (seed % (M - 1)) + 1;
  const parts = [];
  let length = 0;
  while (length < size) {
    s = (s * 48271) % M;
    const w = WORDS[s % WORDS.length];
    parts.push(w);
    length += w.length + 1;
  }
  return parts.join(" ").slice(0, size);
}

function lzwEncode(data) {
  const dict = new Map();
  for (let i = 0; i < 256; i++) dict.set(String.fromCharCode(i), i);
  let next = 256;
  const codes = [];
  let w = "";
  for (let i = 0; i < data.length; i++) {
    const c = data[i];
    const wc = w + c;
    if (dict.has(wc)) {
      w = wc;
    } else {
      codes.push(dict.get(w));
      if (next < 4096) dict.set(wc, next++);
      w = c;
    }
  }
  if (w !== "") codes.push(dict.get(w));
  return codes;
}

function lzwDecode(codes) {
  const dict = [];
  for (let i = 0; i < 256; i++) dict.push(String.fromCharCode(i));
  let w = dict[codes[0]];
  const out = [w];
  for (let i = 1; i < codes.length; i++) {
    const k = codes[i];
    const entry = k < dict.length ? dict[k] : w + w[0];
    out.push(entry);
    if (dict.length < 4096) dict.push(w + entry[0]);
    w = entry;
  }
  return out.join("");
}

function main(params) {
  const n = Number(params.n === undefined ? 64 : params.n);
  const data = text(n * 1024, Number(params.seed === undefined ? 7 : params.seed));
  const codes = lzwEncode(data);
  const packedBytes = Math.ceil((codes.length * 12) / 8);
  return { in: data.length, out: packedBytes, ok: lzwDecode(codes) === data, codec: "lzw" };
}

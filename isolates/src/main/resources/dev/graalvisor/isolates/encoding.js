// Node's Buffer (the common part), TextEncoder/TextDecoder (UTF-8) and atob/btoa, in pure JS: the
// sandbox's GraalJS has none of them, and OpenWhisk actions lean on Buffer for base64 (web action
// bodies, keys). Returns a factory of the four; prelude.js installs them as lazy globals, so an
// isolate that never touches them pays nothing.
(function () {
  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const B64_INDEX = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;
  B64_INDEX[45] = 62; B64_INDEX[95] = 63;  // base64url's - and _

  function utf8Encode(s) {
    const out = new Uint8Array(s.length * 3);
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; }
      }
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;  // a lone surrogate, as Node writes it
      if (c < 0x80) out[n++] = c;
      else if (c < 0x800) { out[n++] = 0xc0 | (c >> 6); out[n++] = 0x80 | (c & 63); }
      else if (c < 0x10000) { out[n++] = 0xe0 | (c >> 12); out[n++] = 0x80 | ((c >> 6) & 63); out[n++] = 0x80 | (c & 63); }
      else {
        out[n++] = 0xf0 | (c >> 18); out[n++] = 0x80 | ((c >> 12) & 63);
        out[n++] = 0x80 | ((c >> 6) & 63); out[n++] = 0x80 | (c & 63);
      }
    }
    return out.subarray(0, n);
  }
  function utf8Decode(b, start, end) {  // WHATWG's decoder: each bad sequence is one U+FFFD
    let s = "";
    const parts = [];
    for (let i = start; i < end;) {
      const c = b[i];
      let cp = c, need = 0, lower = 0x80, upper = 0xbf;
      if (c >= 0x80) {
        if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 31; }
        else if (c >= 0xe0 && c <= 0xef) { need = 2; cp = c & 15; if (c === 0xe0) lower = 0xa0; if (c === 0xed) upper = 0x9f; }
        else if (c >= 0xf0 && c <= 0xf4) { need = 3; cp = c & 7; if (c === 0xf0) lower = 0x90; if (c === 0xf4) upper = 0x8f; }
        else { s += "\ufffd"; i++; continue; }
        let k = 1;
        for (; k <= need; k++) {
          const d = i + k < end ? b[i + k] : -1;
          if (d < lower || d > upper) break;
          cp = (cp << 6) | (d & 63);
          lower = 0x80; upper = 0xbf;
        }
        if (k <= need) { s += "\ufffd"; i += k; continue; }
      }
      s += String.fromCodePoint(cp);
      i += need + 1;
      if (s.length > 8192) { parts.push(s); s = ""; }
    }
    parts.push(s);
    return parts.join("");
  }
  function base64Encode(b, start, end, url) {
    let s = "";
    const alphabet = url ? B64.slice(0, 62) + "-_" : B64;
    let i = start;
    for (; i + 2 < end; i += 3) {
      const v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
      s += alphabet[v >> 18] + alphabet[(v >> 12) & 63] + alphabet[(v >> 6) & 63] + alphabet[v & 63];
    }
    if (i < end) {
      const v = (b[i] << 16) | ((i + 1 < end ? b[i + 1] : 0) << 8);
      s += alphabet[v >> 18] + alphabet[(v >> 12) & 63];
      if (i + 1 < end) s += alphabet[(v >> 6) & 63];
      if (!url) s += i + 1 < end ? "=" : "==";
    }
    return s;
  }
  function base64Decode(s) {  // Node's leniency: skips what is not base64, stops at "="
    const out = new Uint8Array((s.length * 3) >> 2);
    let n = 0, acc = 0, bits = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 61) break;
      const v = c < 128 ? B64_INDEX[c] : -1;
      if (v < 0) continue;
      acc = (acc << 6) | v;
      bits += 6;
      if (bits >= 8) { bits -= 8; out[n++] = (acc >> bits) & 255; }
    }
    return out.subarray(0, n);
  }
  function hexDecode(s) {
    const out = new Uint8Array(s.length >> 1);
    let n = 0;
    for (; n < out.length; n++) {
      const v = parseInt(s.substr(n * 2, 2), 16);
      if (Number.isNaN(v) || !/^[0-9a-fA-F]{2}$/.test(s.substr(n * 2, 2))) break;
      out[n] = v;
    }
    return out.subarray(0, n);
  }
  function latin1Decode(b, start, end, mask) {
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(b[i] & mask);
    return s;
  }
  function encoding(e) {
    const name = e === undefined || e === null ? "utf8" : String(e).toLowerCase();
    switch (name) {
      case "utf8": case "utf-8": return "utf8";
      case "base64": case "base64url": case "hex": case "ascii": return name;
      case "latin1": case "binary": return "latin1";
      case "ucs2": case "ucs-2": case "utf16le": case "utf-16le": return "utf16le";
      default: {
        const err = new TypeError("Unknown encoding: " + e);
        err.code = "ERR_UNKNOWN_ENCODING";
        throw err;
      }
    }
  }
  function bytesOf(string, enc) {
    switch (encoding(enc)) {
      case "utf8": return utf8Encode(string);
      case "base64": case "base64url": return base64Decode(string);
      case "hex": return hexDecode(string);
      case "utf16le": {
        const out = new Uint8Array(string.length * 2);
        for (let i = 0; i < string.length; i++) { const c = string.charCodeAt(i); out[2 * i] = c & 255; out[2 * i + 1] = c >> 8; }
        return out;
      }
      default: {
        const out = new Uint8Array(string.length);
        for (let i = 0; i < string.length; i++) out[i] = string.charCodeAt(i) & 255;
        return out;
      }
    }
  }

  class Buffer extends Uint8Array {
    static from(value, encodingOrOffset, length) {
      if (typeof value === "string") return Buffer._of(bytesOf(value, encodingOrOffset));
      if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && value instanceof SharedArrayBuffer)) {
        const offset = encodingOrOffset === undefined ? 0 : Number(encodingOrOffset);
        return new Buffer(value, offset, length === undefined ? value.byteLength - offset : Number(length));
      }
      if (ArrayBuffer.isView(value)) return Buffer._of(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      if (value && value.type === "Buffer" && Array.isArray(value.data)) return Buffer._of(Uint8Array.from(value.data));
      if (value && typeof value === "object" && typeof value.length === "number") return Buffer._of(Uint8Array.from(value));
      throw new TypeError("The first argument must be of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object.");
    }
    static _of(bytes) {
      const b = new Buffer(bytes.length);
      b.set(bytes);
      return b;
    }
    static alloc(size, fill, enc) {
      const b = new Buffer(size);
      if (fill !== undefined && fill !== 0) b.fill(fill, 0, size, enc);
      return b;
    }
    static allocUnsafe(size) { return new Buffer(size); }
    static allocUnsafeSlow(size) { return new Buffer(size); }
    static isBuffer(v) { return v instanceof Buffer; }
    static isEncoding(e) { try { encoding(e); return typeof e === "string"; } catch (ignored) { return false; } }
    static byteLength(v, enc) {
      if (typeof v !== "string") return v.byteLength;
      return bytesOf(v, enc).length;
    }
    static concat(list, total) {
      if (total === undefined) total = list.reduce((n, b) => n + b.length, 0);
      const out = Buffer.alloc(total);
      let at = 0;
      for (const b of list) {
        if (at >= total) break;
        const part = b.length > total - at ? b.subarray(0, total - at) : b;
        out.set(part, at);
        at += part.length;
      }
      return out;
    }
    static compare(a, b) { return a.compare(b); }
    toString(enc, start, end) {
      start = start === undefined ? 0 : Math.max(0, start | 0);
      end = end === undefined ? this.length : Math.min(this.length, end | 0);
      if (end <= start) return "";
      switch (encoding(enc)) {
        case "utf8": return utf8Decode(this, start, end);
        case "base64": return base64Encode(this, start, end, false);
        case "base64url": return base64Encode(this, start, end, true);
        case "hex": {
          let s = "";
          for (let i = start; i < end; i++) s += (this[i] < 16 ? "0" : "") + this[i].toString(16);
          return s;
        }
        case "ascii": return latin1Decode(this, start, end, 127);
        case "utf16le": {
          let s = "";
          for (let i = start; i + 1 < end; i += 2) s += String.fromCharCode(this[i] | (this[i + 1] << 8));
          return s;
        }
        default: return latin1Decode(this, start, end, 255);
      }
    }
    toJSON() { return { type: "Buffer", data: Array.from(this) }; }
    equals(other) { return this.compare(other) === 0; }
    compare(other) {
      const n = Math.min(this.length, other.length);
      for (let i = 0; i < n; i++) if (this[i] !== other[i]) return this[i] < other[i] ? -1 : 1;
      return this.length === other.length ? 0 : this.length < other.length ? -1 : 1;
    }
    slice(start, end) { return this.subarray(start, end); }  // Node's slice shares memory
    write(string, offset, length, enc) {
      if (typeof offset === "string") { enc = offset; offset = 0; length = undefined; }
      else if (typeof length === "string") { enc = length; length = undefined; }
      offset = offset === undefined ? 0 : offset;
      const bytes = bytesOf(string, enc);
      const n = Math.min(bytes.length, this.length - offset, length === undefined ? Infinity : length);
      this.set(bytes.subarray(0, n), offset);
      return n;
    }
    fill(value, start, end, enc) {
      if (typeof start === "string") { enc = start; start = 0; end = this.length; }
      start = start === undefined ? 0 : start;
      end = end === undefined ? this.length : end;
      if (typeof value === "string") {
        const bytes = bytesOf(value, enc);
        if (!bytes.length) return Uint8Array.prototype.fill.call(this, 0, start, end);
        for (let i = start, j = 0; i < end; i++, j = (j + 1) % bytes.length) this[i] = bytes[j];
        return this;
      }
      return Uint8Array.prototype.fill.call(this, typeof value === "number" ? value & 255 : 0, start, end);
    }
    includes(value, from, enc) { return this.indexOf(value, from, enc) !== -1; }
    indexOf(value, from, enc) {
      if (typeof value === "number") return Uint8Array.prototype.indexOf.call(this, value & 255, from);
      const needle = typeof value === "string" ? bytesOf(value, enc) : value;
      const start = from === undefined ? 0 : from < 0 ? Math.max(0, this.length + from) : from;
      outer: for (let i = start; i + needle.length <= this.length; i++) {
        for (let j = 0; j < needle.length; j++) if (this[i + j] !== needle[j]) continue outer;
        return i;
      }
      return -1;
    }
    readUInt8(o = 0) { return this[o]; }
    readUInt16BE(o = 0) { return (this[o] << 8) | this[o + 1]; }
    readUInt16LE(o = 0) { return this[o] | (this[o + 1] << 8); }
    readUInt32BE(o = 0) { return ((this[o] << 24) >>> 0) + ((this[o + 1] << 16) | (this[o + 2] << 8) | this[o + 3]); }
    readUInt32LE(o = 0) { return ((this[o + 3] << 24) >>> 0) + ((this[o + 2] << 16) | (this[o + 1] << 8) | this[o]); }
    readInt32BE(o = 0) { return (this[o] << 24) | (this[o + 1] << 16) | (this[o + 2] << 8) | this[o + 3]; }
    writeUInt8(v, o = 0) { this[o] = v; return o + 1; }
    writeUInt32BE(v, o = 0) { this[o] = v >>> 24; this[o + 1] = v >>> 16; this[o + 2] = v >>> 8; this[o + 3] = v; return o + 4; }
  }
  Object.defineProperty(Buffer, Symbol.species, { get() { return Buffer; } });
  Buffer.poolSize = 8192;

  class TextEncoder {
    get encoding() { return "utf-8"; }
    encode(s = "") { return Uint8Array.from(utf8Encode(String(s))); }
    encodeInto(s, dest) {
      const bytes = utf8Encode(String(s));
      const n = Math.min(bytes.length, dest.length);
      dest.set(bytes.subarray(0, n));
      return { read: s.length, written: n };
    }
  }
  class TextDecoder {
    constructor(label = "utf-8", options = {}) {
      const name = String(label).toLowerCase().trim();
      if (name !== "utf-8" && name !== "utf8" && name !== "unicode-1-1-utf-8") {
        throw new RangeError("The \"" + label + "\" encoding is not supported: only utf-8 here");
      }
      this.fatal = !!options.fatal;
      this.ignoreBOM = !!options.ignoreBOM;
    }
    get encoding() { return "utf-8"; }
    decode(input) {
      if (input === undefined) return "";
      const b = input instanceof ArrayBuffer ? new Uint8Array(input)
        : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
      const skip = !this.ignoreBOM && b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
      const s = utf8Decode(b, skip, b.length);
      if (this.fatal && s.includes("\ufffd") && !utf8Encode(s).every((v, i) => v === b[skip + i])) {
        throw new TypeError("The encoded data was not valid for encoding utf-8");
      }
      return s;
    }
  }
  function btoa(s) {
    s = String(s);
    const b = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 255) throw new DOMExceptionLike("Invalid character", "InvalidCharacterError");
      b[i] = c;
    }
    return base64Encode(b, 0, b.length, false);
  }
  function atob(s) {
    const b = base64Decode(String(s).replace(/[\t\n\f\r ]/g, ""));
    return latin1Decode(b, 0, b.length, 255);
  }
  class DOMExceptionLike extends Error {
    constructor(message, name) { super(message); this.name = name; }
  }
  return { Buffer, TextEncoder, TextDecoder, atob, btoa };
})

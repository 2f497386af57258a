// The few Node.js built-ins a sandboxed function gets from require (require.js refuses the rest):
// small pure-JS versions, each made on its first require. events: EventEmitter; path: POSIX,
// with "/" as the working directory; util: format, inspect (plain), promisify, callbackify,
// inherits, deprecate, types (a few); timers and timers/promises; process; console; buffer (the
// globals of encoding.js).
(function () {
  function events() {
    function EventEmitter() { EventEmitter.init.call(this); }
    EventEmitter.init = function () {
      if (this._events === undefined || this._events === Object.getPrototypeOf(this)._events) this._events = Object.create(null);
    };
    EventEmitter.defaultMaxListeners = 10;
    const P = EventEmitter.prototype;
    P._events = undefined;
    P._maxListeners = undefined;
    function checkListener(f) {
      if (typeof f !== "function") throw new TypeError('The "listener" argument must be of type function. Received ' + typeof f);
    }
    function add(em, type, f, prepend) {
      checkListener(f);
      if (em._events === undefined) em._events = Object.create(null);
      if (em._events.newListener !== undefined) em.emit("newListener", type, f.listener ? f.listener : f);
      const list = em._events[type] || (em._events[type] = []);
      if (prepend) list.unshift(f); else list.push(f);
      return em;
    }
    function wrapOnce(em, type, f) {
      checkListener(f);
      const w = function (...args) { em.removeListener(type, w); return f.apply(this, args); };
      w.listener = f;
      return w;
    }
    P.on = P.addListener = function (type, f) { return add(this, type, f, false); };
    P.prependListener = function (type, f) { return add(this, type, f, true); };
    P.once = function (type, f) { return add(this, type, wrapOnce(this, type, f), false); };
    P.prependOnceListener = function (type, f) { return add(this, type, wrapOnce(this, type, f), true); };
    P.off = P.removeListener = function (type, f) {
      const list = this._events && this._events[type];
      if (!list) return this;
      for (let i = list.length - 1; i >= 0; i--) {
        if (list[i] !== f && list[i].listener !== f) continue;
        list.splice(i, 1);
        if (!list.length) delete this._events[type];
        if (this._events.removeListener !== undefined) this.emit("removeListener", type, f);
        break;
      }
      return this;
    };
    P.removeAllListeners = function (type) {
      if (this._events !== undefined) {
        if (type === undefined) this._events = Object.create(null); else delete this._events[type];
      }
      return this;
    };
    P.emit = function (type, ...args) {
      const list = this._events && this._events[type];
      if (!list || !list.length) {
        if (type !== "error") return false;
        if (args[0] instanceof Error) throw args[0];
        const e = new Error("Unhandled error." + (args[0] === undefined ? "" : " (" + String(args[0]) + ")"));
        e.code = "ERR_UNHANDLED_ERROR";
        e.context = args[0];
        throw e;
      }
      for (const f of list.slice()) f.apply(this, args);
      return true;
    };
    P.listeners = function (type) { return ((this._events && this._events[type]) || []).map((f) => f.listener || f); };
    P.rawListeners = function (type) { return ((this._events && this._events[type]) || []).slice(); };
    P.listenerCount = function (type) { return ((this._events && this._events[type]) || []).length; };
    P.eventNames = function () { return this._events ? Reflect.ownKeys(this._events) : []; };
    P.setMaxListeners = function (n) { this._maxListeners = n; return this; };
    P.getMaxListeners = function () { return this._maxListeners === undefined ? EventEmitter.defaultMaxListeners : this._maxListeners; };
    EventEmitter.EventEmitter = EventEmitter;
    EventEmitter.once = (em, type) => new Promise((resolve, reject) => {
      const onError = (e) => { em.removeListener(type, onEvent); reject(e); };
      const onEvent = (...args) => { if (type !== "error") em.removeListener("error", onError); resolve(args); };
      em.once(type, onEvent);
      if (type !== "error") em.once("error", onError);
    });
    return EventEmitter;
  }

  function path() {
    function check(p) {
      if (typeof p !== "string") throw new TypeError('The "path" argument must be of type string. Received ' + typeof p);
    }
    function squash(parts, absolute) {
      const out = [];
      for (const s of parts) {
        if (s === "" || s === ".") continue;
        if (s !== "..") out.push(s);
        else if (out.length && out[out.length - 1] !== "..") out.pop();
        else if (!absolute) out.push("..");
      }
      return out.join("/");
    }
    const p = {
      sep: "/",
      delimiter: ":",
      normalize(s) {
        check(s);
        if (s === "") return ".";
        const absolute = s.startsWith("/");
        let out = squash(s.split("/"), absolute);
        if (out === "" && !absolute) out = ".";
        if (out !== "" && s.endsWith("/")) out += "/";
        return (absolute ? "/" : "") + out;
      },
      join(...parts) {
        parts.forEach(check);
        const joined = parts.filter((s) => s !== "").join("/");
        return joined === "" ? "." : p.normalize(joined);
      },
      resolve(...parts) {
        let r = "";
        for (let i = parts.length - 1; i >= -1 && !r.startsWith("/"); i--) {
          const s = i >= 0 ? parts[i] : "/";  // the working directory
          check(s);
          if (s !== "") r = r === "" ? s : s + "/" + r;
        }
        return "/" + squash(r.split("/"), true);
      },
      isAbsolute(s) { check(s); return s.startsWith("/"); },
      dirname(s) {
        check(s);
        const t = s.replace(/(.)\/+$/, "$1");
        const i = t.lastIndexOf("/");
        if (i < 0) return ".";
        return i === 0 ? "/" : t.slice(0, i);
      },
      basename(s, ext) {
        check(s);
        const t = s.replace(/\/+$/, "");
        const base = t.slice(t.lastIndexOf("/") + 1);
        return typeof ext === "string" && ext !== "" && base.endsWith(ext) ? base.slice(0, -ext.length) : base;
      },
      extname(s) {
        const base = p.basename(s);
        const i = base.lastIndexOf(".");
        return i <= 0 || base === ".." ? "" : base.slice(i);
      },
      relative(from, to) {
        const f = p.resolve(from).split("/").filter(Boolean), t = p.resolve(to).split("/").filter(Boolean);
        let i = 0;
        while (i < f.length && i < t.length && f[i] === t[i]) i++;
        return [...f.slice(i).map(() => ".."), ...t.slice(i)].join("/");
      },
      parse(s) {
        check(s);
        const root = s.startsWith("/") ? "/" : "";
        const base = p.basename(s), ext = p.extname(s);
        const dir = s.replace(/\/+$/, "").includes("/") ? p.dirname(s) : root;
        return { root, dir, base, ext, name: ext ? base.slice(0, -ext.length) : base };
      },
      format(o) {
        const dir = o.dir || o.root;
        const base = o.base || (o.name || "") + (o.ext ? (o.ext.startsWith(".") ? "" : ".") + o.ext : "");
        return !dir ? base : dir === o.root ? dir + base : dir + "/" + base;
      },
      toNamespacedPath: (s) => s,
    };
    p.posix = p;
    return p;
  }

  function util() {
    function inspect(v, opts, depth = 0, seen = []) {
      const max = opts && typeof opts.depth === "number" ? opts.depth : 2;
      if (typeof v === "string") return "'" + v.replace(/'/g, "\\'") + "'";
      if (typeof v === "bigint") return v + "n";
      if (typeof v === "function") return "[Function: " + (v.name || "(anonymous)") + "]";
      if (v === null || typeof v !== "object") return String(v);
      if (v instanceof Error) return v.stack || v.name + ": " + v.message;
      if (v instanceof Date) return v.toISOString();
      if (v instanceof RegExp) return String(v);
      if (seen.includes(v)) return "[Circular]";
      if (depth > max) return Array.isArray(v) ? "[Array]" : "[Object]";
      const inner = (x) => inspect(x, opts, depth + 1, [...seen, v]);
      if (Array.isArray(v)) return v.length ? "[ " + v.map(inner).join(", ") + " ]" : "[]";
      if (v instanceof Map) return "Map(" + v.size + ") { " + [...v].map(([k, x]) => inner(k) + " => " + inner(x)).join(", ") + " }";
      if (v instanceof Set) return "Set(" + v.size + ") { " + [...v].map(inner).join(", ") + " }";
      const keys = Object.keys(v);
      const body = keys.map((k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)) + ": " + inner(v[k]));
      return keys.length ? "{ " + body.join(", ") + " }" : "{}";
    }
    const show = (a) => (typeof a === "string" ? a : inspect(a));
    function format(f, ...args) {
      if (typeof f !== "string") return [f, ...args].map(show).join(" ");
      if (!args.length) return f;
      let i = 0;
      let s = f.replace(/%[sdifjoOc%]/g, (m) => {
        if (m === "%%") return "%";
        if (i >= args.length) return m;
        const a = args[i++];
        switch (m[1]) {
          case "s": return typeof a === "bigint" ? a + "n" : typeof a === "object" && a !== null ? inspect(a, { depth: 1 }) : String(a);
          case "d": return typeof a === "bigint" ? a + "n" : typeof a === "symbol" ? "NaN" : String(Number(a));
          case "i": return typeof a === "bigint" ? a + "n" : String(parseInt(a, 10));
          case "f": return String(parseFloat(a));
          case "j": try { return JSON.stringify(a); } catch (e) { return "[Circular]"; }
          case "c": return "";
          default: return inspect(a);
        }
      });
      for (; i < args.length; i++) s += " " + show(args[i]);
      return s;
    }
    const custom = Symbol.for("nodejs.util.promisify.custom");
    function promisify(fn) {
      if (typeof fn !== "function") throw new TypeError('The "original" argument must be of type function');
      if (typeof fn[custom] === "function") return fn[custom];
      return function (...args) {
        return new Promise((resolve, reject) => fn.call(this, ...args, (err, value) => (err ? reject(err) : resolve(value))));
      };
    }
    promisify.custom = custom;
    function callbackify(fn) {
      return function (...args) {
        const cb = args.pop();
        fn.apply(this, args).then((v) => process.nextTick(cb, null, v),
          (e) => process.nextTick(cb, e || Object.assign(new Error("Promise was rejected with a falsy value"), { reason: e })));
      };
    }
    function inherits(ctor, superCtor) {
      Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
      ctor.super_ = superCtor;
    }
    function deprecate(fn, message) {
      let warned = false;
      return function (...args) {
        if (!warned) { warned = true; console.error("DeprecationWarning: " + message); }
        return fn.apply(this, args);
      };
    }
    const types = {
      isPromise: (v) => v instanceof Promise, isDate: (v) => v instanceof Date, isRegExp: (v) => v instanceof RegExp,
      isMap: (v) => v instanceof Map, isSet: (v) => v instanceof Set, isNativeError: (v) => v instanceof Error,
    };
    return { format, inspect, promisify, callbackify, inherits, deprecate, types, isArray: Array.isArray };
  }

  const timerNames = ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "setImmediate", "clearImmediate"];
  return {
    events,
    path,
    "path/posix": path,
    util,
    timers: () => Object.fromEntries(timerNames.map((n) => [n, globalThis[n]])),
    "timers/promises": () => ({
      setTimeout: (ms, value) => new Promise((resolve) => setTimeout(resolve, ms, value)),
      setImmediate: (value) => new Promise((resolve) => setImmediate(resolve, value)),
    }),
    process: () => globalThis.process,
    buffer: () => ({ Buffer: globalThis.Buffer, atob: globalThis.atob, btoa: globalThis.btoa,
                     constants: { MAX_LENGTH: 2 ** 32 - 1, MAX_STRING_LENGTH: 2 ** 29 - 24 } }),
    console: () => globalThis.console,
  };
})

// Runs in every JS isolate before the function's code, with the version's env as JSON. Installs
// Math.random seeded per isolate (a snapshot copies GraalJS's own generator state), `process`
// (env, nextTick, exit, argv) and Node's timers (setTimeout, setInterval, setImmediate, their
// clear*, queueMicrotask). The guest has no threads: timers wait in a queue here, and Java's
// call drives it through the loop returned with the seeder ([reseed, loop]; runner.js steps it).
// Buffer, TextEncoder, TextDecoder, atob and btoa come from encoding.js's factory, made on first
// use (an isolate that never touches them pays a few property definitions); `global` is globalThis.
(function (envJson, encodingFactory) {
  let s0 = 0, s1 = 0, s2 = 1, s3 = 0;
  const rotl = (x, k) => (x << k) | (x >>> (32 - k));
  function next() {
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11);
    return r;
  }
  Object.defineProperty(Math, "random", { value: function random() {
    return ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
  }, writable: true, configurable: true });
  function reseed(a, b, c, d) { s0 = a; s1 = b; s2 = c; s3 = d; }

  const TIMEOUT_MAX = 2147483647;
  const resolved = Promise.resolve();
  const then = Promise.prototype.then;
  let heap = [];  // [due, order, timer, generation]: a min-heap; stale entries are skipped
  let order = 0;
  const armed = new Map();  // id -> Timeout, for clearTimeout(id)
  let nextId = 1;
  let immediates = [];
  let immediateHead = 0;
  let ticks = [];
  let exitCode = null;
  let onUncaught = () => {};
  const overridden = new Map();  // env keys the last call set -> [had, old]: see begin

  function invalidCallback(cb) {
    const e = new TypeError('The "callback" argument must be of type function. Received ' + typeof cb);
    e.code = "ERR_INVALID_ARG_TYPE";
    return e;
  }
  const before = (a, b) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  function push(entry) {
    heap.push(entry);
    for (let i = heap.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!before(heap[i], heap[p])) break;
      [heap[i], heap[p]] = [heap[p], heap[i]];
      i = p;
    }
  }
  function pop() {
    const top = heap[0], last = heap.pop();
    if (heap.length) {
      heap[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l], heap[m])) m = l;
        if (r < heap.length && before(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  }
  function earliest() {  // the next live entry: a cleared or refreshed timer's old entry is dropped
    while (heap.length && heap[0][2]._generation !== heap[0][3]) pop();
    return heap[0];
  }
  function arm(t) {
    t._generation++;
    armed.set(t._id, t);
    push([Date.now() + t._idleTimeout, order++, t, t._generation]);
  }
  function delay(ms) {
    ms = Number(ms);
    return ms >= 1 && ms <= TIMEOUT_MAX ? ms : 1;
  }

  class Timeout {
    constructor(callback, ms, args, repeat) {
      this._id = nextId++;
      this._idleTimeout = delay(ms);
      this._onTimeout = callback;
      this._timerArgs = args;
      this._repeat = repeat ? this._idleTimeout : null;
      this._destroyed = false;
      this._ref = true;
      this._generation = 0;
    }
    ref() { this._ref = true; return this; }
    unref() { this._ref = false; return this; }  // no effect on firing: a call waits for main's Promise
    hasRef() { return this._ref; }
    refresh() { if (!this._destroyed) arm(this); return this; }
    close() { clearTimer(this); return this; }
    [Symbol.toPrimitive]() { return this._id; }
  }
  class Immediate {
    constructor(callback, args) {
      this._onImmediate = callback;
      this._argv = args;
      this._destroyed = false;
      this._ref = true;
    }
    ref() { this._ref = true; return this; }
    unref() { this._ref = false; return this; }
    hasRef() { return this._ref; }
  }
  function clearTimer(t) {
    if (!(t instanceof Timeout)) t = t == null ? undefined : armed.get(Number(t));
    if (t === undefined) return;
    t._destroyed = true;
    t._generation++;
    armed.delete(t._id);
  }
  function fire(t) {
    const generation = t._generation;
    if (t._repeat === null) armed.delete(t._id);
    try {
      t._onTimeout.apply(t, t._timerArgs);
    } catch (e) {
      uncaught(e);
    }
    // An interval is due again from when it ran, unless its callback cleared or refreshed it.
    if (t._repeat !== null && !t._destroyed && t._generation === generation) arm(t);
  }
  function uncaught(e) {
    if (exitCode === null) onUncaught(e);
  }
  function runTicks() {
    while (ticks.length && exitCode === null) {
      const batch = ticks;
      ticks = [];
      for (const [cb, args] of batch) {
        if (exitCode !== null) break;
        try {
          cb(...args);
        } catch (e) {
          uncaught(e);
        }
      }
    }
  }
  function clearAll() {
    if (heap.length) heap = [];
    if (armed.size) armed.clear();
    if (immediates.length) { immediates = []; immediateHead = 0; }
    if (ticks.length) ticks = [];
  }

  globalThis.setTimeout = function setTimeout(callback, ms, ...args) {
    if (typeof callback !== "function") throw invalidCallback(callback);
    const t = new Timeout(callback, ms, args, false);
    arm(t);
    return t;
  };
  globalThis.setInterval = function setInterval(callback, ms, ...args) {
    if (typeof callback !== "function") throw invalidCallback(callback);
    const t = new Timeout(callback, ms, args, true);
    arm(t);
    return t;
  };
  globalThis.clearTimeout = clearTimer;
  globalThis.clearInterval = clearTimer;
  globalThis.setImmediate = function setImmediate(callback, ...args) {
    if (typeof callback !== "function") throw invalidCallback(callback);
    const i = new Immediate(callback, args);
    immediates.push(i);
    return i;
  };
  globalThis.clearImmediate = function clearImmediate(i) {
    if (i instanceof Immediate) i._destroyed = true;
  };
  globalThis.queueMicrotask = function queueMicrotask(callback) {
    if (typeof callback !== "function") throw invalidCallback(callback);
    then.call(resolved, () => {
      try {
        callback();
      } catch (e) {
        uncaught(e);
      }
    });
  };
  const proc = {
    env: JSON.parse(envJson),
    argv: [],
    nextTick(callback, ...args) {
      if (typeof callback !== "function") throw invalidCallback(callback);
      ticks.push([callback, args]);
    },
    // The call fails with the exit error even if the caller catches this; the isolate is dropped.
    exit(code) {
      if (exitCode === null) exitCode = code === undefined || code === null ? 0 : Math.trunc(Number(code)) || 0;
      const e = new Error("process.exit(" + exitCode + ") was called");
      e.name = "ProcessExit";
      throw e;
    },
  };
  globalThis.process = proc;
  let encodings = null;
  const define = (name, value) =>
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  for (const name of ["Buffer", "TextEncoder", "TextDecoder", "atob", "btoa"]) {
    if (name in globalThis) continue;  // the engine's own, where it has one
    Object.defineProperty(globalThis, name, {
      configurable: true, enumerable: false,
      get() {
        encodings = encodings || encodingFactory();
        define(name, encodings[name]);
        return encodings[name];
      },
      set(value) { define(name, value); },
    });
  }
  if (!("global" in globalThis)) define("global", globalThis);
  globalThis.module = { exports: {} };
  globalThis.exports = globalThis.module.exports;

  const loop = {
    /** A call starts with no timers (none set at load time or after the last call ever fires)
     * and with its own env over the version's. Keys the last call set and this one does not are
     * put back first, so a call never sees another's values; keys set again are overwritten, not
     * deleted and re-added, which keeps process.env's shape (and every read of it) fast. */
    begin(callEnvJson) {
      clearAll();
      const add = callEnvJson === undefined || callEnvJson === null ? null : JSON.parse(callEnvJson);
      const env = proc.env;
      for (const [k, [had, old]] of overridden) {
        if (add === null || !Object.prototype.hasOwnProperty.call(add, k)) {
          if (had) env[k] = old; else delete env[k];
          overridden.delete(k);
        }
      }
      if (add === null) return;
      for (const k in add) {
        if (!overridden.has(k)) overridden.set(k, [Object.prototype.hasOwnProperty.call(env, k), env[k]]);
        env[k] = String(add[k]);
      }
    },
    /** The call is over: what is still pending is cancelled; hands back the result. */
    finish(result) {
      clearAll();
      return result;
    },
    /** One turn: the nextTick queue, else one due timer, else one immediate (each followed by the
     * ticks it queued); 0 when something ran (Promise jobs run once the host call returns), else
     * the ms until the next timer, or -1 when nothing is pending. */
    turn() {
      if (ticks.length) { runTicks(); return 0; }
      const now = Date.now();
      const entry = earliest();
      if (entry !== undefined && entry[0] <= now) {
        pop();
        fire(entry[2]);
        runTicks();
        return 0;
      }
      while (immediateHead < immediates.length) {
        const i = immediates[immediateHead++];
        if (immediateHead === immediates.length) { immediates = []; immediateHead = 0; }
        if (i._destroyed) continue;
        i._destroyed = true;
        try {
          i._onImmediate.apply(i, i._argv);
        } catch (e) {
          uncaught(e);
        }
        runTicks();
        return 0;
      }
      return entry === undefined ? -1 : Math.max(1, Math.ceil(entry[0] - now));
    },
    runTicks,
    exitCode: () => exitCode,
    /** Where an error thrown by a timer, tick or microtask callback goes (the runner fails the call). */
    setUncaught(f) { onUncaught = f; },
  };
  return [reseed, loop];
})

// Wraps an OpenWhisk-style main(params) for Java: a call runs main and returns `step`; Java calls
// step until it hands back the outcome, [status, payload, type, line(, value JSON)], so guest
// errors cross as data. Between steps Promise jobs run (when a host call returns); a step that
// answers a number asks Java to wait that many ms for the next timer (the loop is prelude.js's).
// The call ends when main's Promise settles, or at once when main returns a non-Promise.
(function (main, sourceName, loop) {
  function lineOf(e) {
    const stack = e && e.stack ? String(e.stack) : "";
    const at = stack.split("\n").find((l) => l.includes(sourceName + ":"));
    const m = at ? /:(\d+):\d+\)?\s*$/.exec(at) : null;
    return m ? Number(m[1]) : 0;
  }
  // An Error keeps its message, type and line; any other thrown or rejected value also keeps its
  // JSON (the reply's `value`), and its message is the string itself or that JSON text.
  function failure(e) {
    if (e instanceof Error) {
      return ["error", e.message !== undefined ? String(e.message) : String(e), e.name ? String(e.name) : "Error", lineOf(e)];
    }
    let json;
    try {
      json = JSON.stringify(e);
    } catch (ignored) {
      json = undefined;  // cyclic, or a BigInt
    }
    const message = typeof e === "string" ? e : json !== undefined ? json : String(e);
    const type = e && e.name ? String(e.name) : typeof e;
    return json === undefined || json === "null" ? ["error", message, type, 0] : ["error", message, type, 0, json];
  }
  let out = null;
  let current = 0;  // the call in progress: a Promise of an earlier call that settles late is ignored
  function settle(r) {
    try {
      const text = JSON.stringify(r === undefined ? {} : r);
      out = ["ok", text === undefined ? "{}" : text, "", 0];
    } catch (e) {
      out = failure(e);
    }
  }
  loop.setUncaught((e) => { if (out === null) out = failure(e); });
  const NEVER = "the Promise returned by main never settled, and no timer, immediate or nextTick was left that could settle it";
  function step() {
    const code = loop.exitCode();
    if (code !== null) return loop.finish(["exit", String(code), "Exit", 0]);
    if (out !== null) return loop.finish(out);
    const wait = loop.turn();
    return wait >= 0 ? wait : loop.finish(["error", NEVER, "Error", 0]);
  }
  return function (paramsJson, envJson) {
    const call = ++current;
    out = null;
    loop.begin(envJson);
    try {
      const r = main(JSON.parse(paramsJson));
      if (r !== null && (typeof r === "object" || typeof r === "function") && typeof r.then === "function") {
        Promise.resolve(r).then(
          (v) => { if (call === current && out === null) settle(v); },
          (e) => { if (call === current && out === null) out = failure(e); });
      } else {
        settle(r);
      }
    } catch (e) {
      if (out === null) out = failure(e);
    }
    loop.runTicks();  // Node runs the nextTick queue before Promise jobs
    return step;
  };
})

// Wraps an OpenWhisk-style main(params): awaits a returned Promise and hands back
// [status, payload, type, line] so guest errors cross into Java as data.
(function (main, sourceName) {
  function lineOf(e) {
    const stack = e && e.stack ? String(e.stack) : "";
    const at = stack.split("\n").find((l) => l.includes(sourceName + ":"));
    const m = at ? /:(\d+):\d+\)?\s*$/.exec(at) : null;
    return m ? Number(m[1]) : 0;
  }
  function failure(e) {
    const message = e && e.message !== undefined ? String(e.message) : String(e);
    const type = e && e.name ? String(e.name) : typeof e;
    return ["error", message, type, lineOf(e)];
  }
  return function (paramsJson) {
    let out = null;
    try {
      Promise.resolve(main(JSON.parse(paramsJson))).then(
        (r) => {
          try {
            const text = JSON.stringify(r === undefined ? {} : r);
            out = ["ok", text === undefined ? "{}" : text, "", 0];
          } catch (e) {
            out = failure(e);
          }
        },
        (e) => { out = failure(e); });
    } catch (e) {
      out = failure(e);
    }
    // Promise jobs run when this call returns to the host; the second call reads the outcome.
    return () => out || ["error", "the Promise returned by main never settled (there is no event loop: timers do not fire)", "Error", 0];
  };
})

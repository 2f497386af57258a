// CommonJS require over the files of an uploaded zip (the guest has no file system), resolved as
// Node does: relative paths (X, X.js, X.json, X/package.json "main", X/index.js); bare names in
// node_modules/ of every folder up from the requiring file, scoped (@scope/pkg) and with subpaths,
// through package.json "exports" (conditions require, node, default) or else "main". Node's
// built-ins are refused with an error naming them, but for the small pure-JS ones of builtins.js.
// One module cache per isolate; a cycle sees the partial exports, as in Node.
(function (filesJson, provided) {
  const files = JSON.parse(filesJson);
  const has = (p) => p !== "" && Object.prototype.hasOwnProperty.call(files, p);
  const cache = Object.create(null);
  const made = Object.create(null);  // built-in modules given out so far
  // Node 20's require('module').builtinModules.
  const BUILTINS = new Set(("_http_agent _http_client _http_common _http_incoming _http_outgoing _http_server " +
    "_stream_duplex _stream_passthrough _stream_readable _stream_transform _stream_wrap _stream_writable " +
    "_tls_common _tls_wrap assert assert/strict async_hooks buffer child_process cluster console constants " +
    "crypto dgram diagnostics_channel dns dns/promises domain events fs fs/promises http http2 https inspector " +
    "inspector/promises module net os path path/posix path/win32 perf_hooks process punycode querystring " +
    "readline readline/promises repl stream stream/consumers stream/promises stream/web string_decoder sys " +
    "timers timers/promises tls trace_events tty url util util/types v8 vm wasi worker_threads zlib").split(" "));
  const NODE_ONLY = new Set(["test", "test/reporters", "sea"]);  // only ever as node:<name>
  const CONDITIONS = new Set(["require", "node", "default"]);
  const dirname = (p) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");
  function join(base, name) {
    const out = [];
    for (const part of (base ? base + "/" + name : name).split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") out.pop(); else out.push(part);
    }
    return out.join("/");
  }
  function notFound(request, from, why) {
    const e = new Error("Cannot find module '" + request + "' from '" + from + "'" + (why ? ": " + why : ""));
    e.code = "MODULE_NOT_FOUND";
    return e;
  }
  function packageJson(dir) {
    const p = dir ? dir + "/package.json" : "package.json";
    if (!has(p)) return null;
    try {
      return JSON.parse(files[p]);
    } catch (e) {
      throw new SyntaxError("invalid JSON in " + p + ": " + e.message);
    }
  }
  const asFile = (p) => (has(p) ? p : has(p + ".js") ? p + ".js" : has(p + ".json") ? p + ".json" : null);
  const asIndex = (p) => asFile(p ? p + "/index" : "index");
  function asDirectory(p) {
    const pkg = packageJson(p);
    if (pkg && typeof pkg.main === "string" && pkg.main) {
      const m = join(p, pkg.main);
      const found = asFile(m) || asIndex(m);
      if (found) return found;
    }
    return asIndex(p);
  }
  // "exports": a target (string, array, conditions) or a map of subpaths ("." , "./x", "./x/*").
  function exported(pkgDir, exports, subpath, request, from) {
    const map = typeof exports === "object" && !Array.isArray(exports) && Object.keys(exports).some((k) => k.startsWith("."))
      ? exports : { ".": exports };
    let target;
    if (Object.prototype.hasOwnProperty.call(map, subpath) && !subpath.includes("*")) {
      target = resolveTarget(pkgDir, map[subpath], null);
    } else {
      let best = null;  // Node's order: the longest part before "*", then the longest key
      for (const key of Object.keys(map)) {
        const star = key.indexOf("*");
        if (star < 0 || key.indexOf("*", star + 1) >= 0) continue;
        const prefix = key.slice(0, star), suffix = key.slice(star + 1);
        if (subpath.length >= key.length && subpath.startsWith(prefix) && subpath.endsWith(suffix) &&
            (best === null || prefix.length > best[1] || (prefix.length === best[1] && key.length > best[0].length))) {
          best = [key, prefix.length, subpath.slice(star, subpath.length - suffix.length)];
        }
      }
      if (best !== null) target = resolveTarget(pkgDir, map[best[0]], best[2]);
    }
    if (target === null || target === undefined) {
      const e = new Error("Package subpath '" + subpath + "' is not defined by \"exports\" in " + pkgDir +
        "/package.json (required as '" + request + "' from '" + from + "')");
      e.code = "ERR_PACKAGE_PATH_NOT_EXPORTED";
      throw e;
    }
    if (!has(target)) throw notFound(request, from, "\"exports\" of " + pkgDir + "/package.json names " + target + ", which is not in the zip");
    return target;
  }
  // undefined: no match, try the next; null: not exported.
  function resolveTarget(pkgDir, target, match) {
    if (typeof target === "string") {
      if (!target.startsWith("./")) return undefined;
      return join(pkgDir, match === null ? target : target.split("*").join(match));
    }
    if (Array.isArray(target)) {
      for (const t of target) {
        const r = resolveTarget(pkgDir, t, match);
        if (r !== undefined && r !== null) return r;
      }
      return undefined;
    }
    if (target !== null && typeof target === "object") {
      for (const key of Object.keys(target)) {
        if (!CONDITIONS.has(key)) continue;
        const r = resolveTarget(pkgDir, target[key], match);
        if (r !== undefined) return r;
      }
      return undefined;
    }
    return target === null ? null : undefined;
  }
  function fromNodeModules(request, from) {
    const parts = request.split("/");
    const nameParts = request.startsWith("@") ? 2 : 1;
    if (parts.length < nameParts || parts.slice(0, nameParts).some((s) => s === "" || s === "." || s === "..")) {
      throw notFound(request, from, "not a valid package name");
    }
    const name = parts.slice(0, nameParts).join("/");
    const sub = parts.slice(nameParts).join("/");
    const dirs = [];
    const up = dirname(from).split("/").filter(Boolean);
    for (let i = up.length; i > 0; i--) if (up[i - 1] !== "node_modules") dirs.push(up.slice(0, i).join("/") + "/node_modules");
    dirs.push("node_modules");
    for (const dir of dirs) {
      const pkgDir = dir + "/" + name;
      const pkg = packageJson(pkgDir);
      if (pkg && pkg.exports !== undefined && pkg.exports !== null) {
        return exported(pkgDir, pkg.exports, sub ? "./" + sub : ".", request, from);
      }
      const p = sub ? pkgDir + "/" + sub : pkgDir;
      const found = asFile(p) || asDirectory(p);
      if (found) return found;
    }
    if (Object.keys(files).length === 0) {
      throw notFound(request, from, "a single-file function has no node_modules/: upload a zip that holds them");
    }
    throw notFound(request, from, "no such package in node_modules/ of the zip (searched " + dirs.join(", ") + ")");
  }
  function resolve(from, request) {
    if (typeof request !== "string" || request === "") throw new TypeError("require: the module name must be a non-empty string");
    if (request.startsWith("node:")) {
      const name = request.slice(5);
      if (!BUILTINS.has(name) && !NODE_ONLY.has(name)) {
        const e = new Error("No such built-in module: " + request);
        e.code = "ERR_UNKNOWN_BUILTIN_MODULE";
        throw e;
      }
      return "node:" + name;
    }
    if (BUILTINS.has(request)) return "node:" + request;
    if (request === "." || request === ".." || request.startsWith("./") || request.startsWith("../") || request.startsWith("/")) {
      const p = join(request.startsWith("/") ? "" : dirname(from), request);
      const found = (request.endsWith("/") ? null : asFile(p)) || asDirectory(p);
      if (found) return found;
      throw notFound(request, from);
    }
    return fromNodeModules(request, from);
  }
  function builtin(name) {
    if (name in made) return made[name];
    const make = provided[name];
    if (make === undefined) {
      const e = new Error("Cannot use Node.js built-in module '" + name + "': graalvisor runs functions in a sandbox " +
        "with no file system, network, processes or native code, and provides only events, path, util, timers, buffer, " +
        "timers/promises, process and console");
      e.code = "ERR_UNSUPPORTED_BUILTIN";
      throw e;
    }
    return (made[name] = make());
  }
  function requireFrom(from, parent) {
    const require = (request) => load(resolve(from, request), parent);
    require.resolve = (request) => {
      const key = resolve(from, request);
      return key.startsWith("node:") && !request.startsWith("node:") ? key.slice(5) : key;
    };
    require.cache = cache;
    return require;
  }
  function load(key, parent) {
    if (key.startsWith("node:")) return builtin(key.slice(5));
    const cached = cache[key];
    if (cached !== undefined) return cached.exports;
    const module = { id: key, filename: key, path: dirname(key), exports: {}, loaded: false, parent, children: [] };
    if (parent) parent.children.push(module);
    cache[key] = module;
    let ok = false;
    try {
      if (key.endsWith(".json")) {
        module.exports = JSON.parse(files[key]);
      } else {
        const body = new Function("exports", "require", "module", "__filename", "__dirname",
          files[key] + "\n//# sourceURL=" + key);
        module.require = requireFrom(key, module);
        body.call(module.exports, module.exports, module.require, module, key, dirname(key));
      }
      ok = true;
    } finally {
      if (!ok) delete cache[key];  // as Node: a module that threw is loaded afresh next time
    }
    module.loaded = true;
    return module.exports;
  }
  const api = (entry) => load(entry, null);
  api.requireFrom = (from) => requireFrom(from, null);  // a single-file function's global require
  return api;
})

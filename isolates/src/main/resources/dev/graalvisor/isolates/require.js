// CommonJS require over the files of an uploaded zip: the guest has no file system.
(function (filesJson) {
  const files = JSON.parse(filesJson);
  const cache = {};
  const dirname = (p) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");
  function join(base, name) {
    const out = [];
    for (const part of (base ? base + "/" + name : name).split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") out.pop(); else out.push(part);
    }
    return out.join("/");
  }
  function resolve(from, name) {
    if (!name.startsWith(".") && !name.startsWith("/")) {
      throw new Error("Cannot find module '" + name + "': only files inside the uploaded zip can be required");
    }
    const p = join(name.startsWith("/") ? "" : dirname(from), name);
    for (const c of [p, p + ".js", p + ".json", p + "/index.js"]) if (c in files) return c;
    throw new Error("Cannot find module '" + name + "' from '" + from + "'");
  }
  function load(path) {
    if (cache[path]) return cache[path].exports;
    const module = { exports: {} };
    cache[path] = module;
    if (path.endsWith(".json")) {
      module.exports = JSON.parse(files[path]);
    } else {
      const body = new Function("exports", "require", "module", "__filename", "__dirname",
        files[path] + "\n//# sourceURL=" + path);
      body(module.exports, (n) => load(resolve(path, n)), module, path, dirname(path));
    }
    return module.exports;
  }
  return load;
})

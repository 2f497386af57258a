// Baseline instance host for JavaScript: one node process runs one function, one invocation at a time.
// Protocol on stdin/stdout: one JSON object per line in ({params}), one per line out ({result} | {error}).
// The function file is evaluated unchanged in a fresh vm context, like a plain script; `main` is its entry.
"use strict";
const fs = require("fs");
const vm = require("vm");
const readline = require("readline");

const [file, entry = "main"] = process.argv.slice(2);
const out = process.stdout;
const context = vm.createContext({ console: { log: (...a) => process.stderr.write(a.join(" ") + "\n") } });
vm.runInContext(fs.readFileSync(file, "utf8"), context, { filename: file });
const fn = context[entry];
if (typeof fn !== "function") {
  out.write(JSON.stringify({ error: `no function ${entry} in ${file}` }) + "\n");
  process.exit(2);
}
out.write(JSON.stringify({ ready: true }) + "\n");

const lines = readline.createInterface({ input: process.stdin });
const queue = [];
let busy = false;

async function drain() {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const line = queue.shift();
    let reply;
    try {
      const result = await fn(JSON.parse(line));
      reply = JSON.stringify({ result: result === undefined ? {} : result });
    } catch (e) {
      reply = JSON.stringify({ error: String(e && e.stack ? e.stack : e) });
    }
    out.write(reply + "\n");
  }
  busy = false;
}

lines.on("line", (line) => {
  queue.push(line);
  drain();
});
lines.on("close", () => process.exit(0));

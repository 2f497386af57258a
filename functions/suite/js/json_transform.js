// JSON transform: build n records, serialise, parse, group by tag, serialise the summary.
const TAGS = ["red", "green", "blue", "cyan", "magenta", "yellow", "black", "white"];

function main(params) {
  const M = 2147483647;
  const n = Number(params.n === undefined ? 1000 : params.n);
  let s = (Number(params.seed === undefined ? 7 : params.seed) % (M - 1)) + 1;
  const records = [];
  for (let i = 0; i < n; i++) {
    s = (s * 48271) % M;
    records.push({ id: i, name: "user" + i, score: s % 1000, active: s % 3 !== 0,
      tags: [TAGS[s % 8], TAGS[Math.floor(s / 8) % 8]] });
  }
  const doc = JSON.stringify({ records });
  const parsed = JSON.parse(doc);
  const groups = {};
  for (const r of parsed.records) {
    if (!r.active) continue;
    for (const t of r.tags) {
      const g = groups[t] || (groups[t] = { count: 0, total: 0 });
      g.count += 1;
      g.total += r.score;
    }
  }
  let top = "";
  const ordered = {};
  for (const t of TAGS) {
    if (groups[t] === undefined) continue;
    ordered[t] = groups[t];
    if (top === "" || groups[t].count > groups[top].count) top = t;
  }
  const summary = JSON.stringify(ordered);
  return { n, bytes: doc.length, groups: Object.keys(ordered).length, top, summary_bytes: summary.length };
}

// PageRank (20 power iterations, d = 0.85) over a generated random graph.
function main(params) {
  const M = 2147483647;
  const n = Number(params.n === undefined ? 2000 : params.n);
  let s = (Number(params.seed === undefined ? 7 : params.seed) % (M - 1)) + 1;
  const out = [];
  for (let v = 0; v < n; v++) {
    const edges = [];
    for (let k = 0; k < 4; k++) {
      s = (s * 48271) % M;
      edges.push(s % n);
    }
    out.push(edges);
  }
  let rank = new Array(n).fill(1.0 / n);
  for (let it = 0; it < 20; it++) {
    const next = new Array(n).fill(0.15 / n);
    for (let v = 0; v < n; v++) {
      const share = (0.85 * rank[v]) / out[v].length;
      for (const u of out[v]) next[u] += share;
    }
    rank = next;
  }
  let best = 0, sum = 0;
  for (let v = 0; v < n; v++) {
    if (rank[v] > rank[best]) best = v;
    sum += rank[v];
  }
  return { n, top: best, top_rank: Math.round(rank[best] * 1e9) / 1e9, sum: Math.round(sum * 1e6) / 1e6 };
}

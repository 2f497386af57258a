// Breadth-first search over a generated random connected graph of n vertices.
function main(params) {
  const M = 2147483647;
  const n = Number(params.n === undefined ? 2000 : params.n);
  let s = (Number(params.seed === undefined ? 7 : params.seed) % (M - 1)) + 1;
  const adj = [];
  for (let v = 0; v < n; v++) adj.push([]);
  for (let v = 1; v < n; v++) {
    for (let k = 0; k < 4; k++) {
      s = (s * 48271) % M;
      const u = k === 0 ? s % v : s % n;
      adj[v].push(u);
      adj[u].push(v);
    }
  }
  const depth = new Array(n).fill(-1);
  depth[0] = 0;
  const queue = [0];
  let maxDepth = 0;
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head];
    for (const u of adj[v]) {
      if (depth[u] < 0) {
        depth[u] = depth[v] + 1;
        if (depth[u] > maxDepth) maxDepth = depth[u];
        queue.push(u);
      }
    }
  }
  return { n, reached: queue.length, max_depth: maxDepth };
}

// Minimum spanning tree (Prim, binary heap) over a generated weighted connected graph.
function heapPush(h, w, v) {
  h.push([w, v]);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p][0] < h[i][0] || (h[p][0] === h[i][0] && h[p][1] <= h[i][1])) break;
    const t = h[p]; h[p] = h[i]; h[i] = t; i = p;
  }
}

function heapPop(h) {
  const top = h[0];
  const last = h.pop();
  if (h.length > 0) {
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < h.length && (h[l][0] < h[m][0] || (h[l][0] === h[m][0] && h[l][1] < h[m][1]))) m = l;
      if (r < h.length && (h[r][0] < h[m][0] || (h[r][0] === h[m][0] && h[r][1] < h[m][1]))) m = r;
      if (m === i) break;
      const t = h[m]; h[m] = h[i]; h[i] = t; i = m;
    }
  }
  return top;
}

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
      s = (s * 48271) % M;
      const w = (s % 1000) + 1;
      adj[v].push([w, u]);
      adj[u].push([w, v]);
    }
  }
  const seen = new Array(n).fill(false);
  const heap = [[0, 0]];
  let total = 0, count = 0;
  while (heap.length > 0) {
    const [w, v] = heapPop(heap);
    if (seen[v]) continue;
    seen[v] = true;
    total += w;
    count++;
    for (const e of adj[v]) if (!seen[e[1]]) heapPush(heap, e[0], e[1]);
  }
  return { n, vertices: count, weight: total };
}

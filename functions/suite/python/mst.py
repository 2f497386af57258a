# Minimum spanning tree (Prim, binary heap) over a generated weighted connected graph.
import heapq

M = 2147483647


def main(args):
    n = int(args.get("n", 2000))
    s = int(args.get("seed", 7)) % (M - 1) + 1
    adj = [[] for _ in range(n)]
    for v in range(1, n):
        for k in range(4):
            s = s * 48271 % M
            u = s % v if k == 0 else s % n
            s = s * 48271 % M
            w = s % 1000 + 1
            adj[v].append((w, u))
            adj[u].append((w, v))
    seen = [False] * n
    heap = [(0, 0)]
    total = 0
    count = 0
    while heap:
        w, v = heapq.heappop(heap)
        if seen[v]:
            continue
        seen[v] = True
        total += w
        count += 1
        for e in adj[v]:
            if not seen[e[1]]:
                heapq.heappush(heap, e)
    return {"n": n, "vertices": count, "weight": total}

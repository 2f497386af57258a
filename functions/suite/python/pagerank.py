# PageRank (20 power iterations, d = 0.85) over a generated random graph.
M = 2147483647


def main(args):
    n = int(args.get("n", 2000))
    s = int(args.get("seed", 7)) % (M - 1) + 1
    out = [[] for _ in range(n)]
    for v in range(n):
        for _ in range(4):
            s = s * 48271 % M
            out[v].append(s % n)
    rank = [1.0 / n] * n
    for _ in range(20):
        nxt = [0.15 / n] * n
        for v in range(n):
            share = 0.85 * rank[v] / len(out[v])
            for u in out[v]:
                nxt[u] += share
        rank = nxt
    best = 0
    for v in range(n):
        if rank[v] > rank[best]:
            best = v
    return {"n": n, "top": best, "top_rank": round(rank[best], 9), "sum": round(sum(rank), 6)}

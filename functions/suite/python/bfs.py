# Breadth-first search over a generated random connected graph of n vertices.
M = 2147483647


def graph(n, degree, seed):
    s = seed % (M - 1) + 1
    adj = [[] for _ in range(n)]
    for v in range(1, n):
        for k in range(degree):
            s = s * 48271 % M
            u = s % v if k == 0 else s % n
            adj[v].append(u)
            adj[u].append(v)
    return adj


def main(args):
    n = int(args.get("n", 2000))
    adj = graph(n, 4, int(args.get("seed", 7)))
    depth = [-1] * n
    depth[0] = 0
    queue = [0]
    head = 0
    while head < len(queue):
        v = queue[head]
        head += 1
        for u in adj[v]:
            if depth[u] < 0:
                depth[u] = depth[v] + 1
                queue.append(u)
    return {"n": n, "reached": len(queue), "max_depth": max(depth)}

# Breadth-first search over a generated random graph (standard library only).
import random
from collections import deque


def main(args):
    size = int(args.get("size", 2000))
    degree = int(args.get("degree", 4))
    rng = random.Random(args.get("seed", 7))
    edges = [[] for _ in range(size)]
    for v in range(size):
        for _ in range(degree):
            u = rng.randrange(size)
            edges[v].append(u)
            edges[u].append(v)
    depth = [-1] * size
    depth[0] = 0
    queue = deque([0])
    while queue:
        v = queue.popleft()
        for u in edges[v]:
            if depth[u] < 0:
                depth[u] = depth[v] + 1
                queue.append(u)
    reached = [d for d in depth if d >= 0]
    return {"size": size, "reached": len(reached), "max_depth": max(reached)}

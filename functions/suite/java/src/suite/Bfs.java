package suite;

import com.google.gson.JsonObject;
import java.util.Arrays;

/** Breadth-first search over a generated random connected graph of n vertices. */
public final class Bfs {
    public static JsonObject main(JsonObject args) {
        int n = Gen.intArg(args, "n", 2000);
        Graph graph = new Graph(n, Gen.of(args), false);
        int[] depth = new int[n];
        Arrays.fill(depth, -1);
        depth[0] = 0;
        int[] queue = new int[n];
        int head = 0, tail = 0, maxDepth = 0;
        queue[tail++] = 0;
        while (head < tail) {
            int v = queue[head++];
            for (int u : graph.to[v]) {
                if (depth[u] < 0) {
                    depth[u] = depth[v] + 1;
                    maxDepth = Math.max(maxDepth, depth[u]);
                    queue[tail++] = u;
                }
            }
        }
        JsonObject out = new JsonObject();
        out.addProperty("n", n);
        out.addProperty("reached", tail);
        out.addProperty("max_depth", maxDepth);
        return out;
    }
}

package suite;

import com.google.gson.JsonObject;
import java.util.PriorityQueue;

/** Minimum spanning tree (Prim, binary heap) over a generated weighted connected graph. */
public final class Mst {
    public static JsonObject main(JsonObject args) {
        int n = Gen.intArg(args, "n", 2000);
        Graph graph = new Graph(n, Gen.of(args), true);
        boolean[] seen = new boolean[n];
        PriorityQueue<long[]> heap = new PriorityQueue<>((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        heap.add(new long[] {0, 0});
        long total = 0;
        int count = 0;
        while (!heap.isEmpty()) {
            long[] top = heap.poll();
            int v = (int) top[1];
            if (seen[v]) {
                continue;
            }
            seen[v] = true;
            total += top[0];
            count++;
            for (int i = 0; i < graph.to[v].length; i++) {
                int u = graph.to[v][i];
                if (!seen[u]) {
                    heap.add(new long[] {graph.weight[v][i], u});
                }
            }
        }
        JsonObject out = new JsonObject();
        out.addProperty("n", n);
        out.addProperty("vertices", count);
        out.addProperty("weight", total);
        return out;
    }
}

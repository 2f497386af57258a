package suite;

import com.google.gson.JsonObject;
import java.util.Arrays;

/** PageRank (20 power iterations, d = 0.85) over a generated random graph. */
public final class PageRank {
    public static JsonObject main(JsonObject args) {
        int n = Gen.intArg(args, "n", 2000);
        Gen g = Gen.of(args);
        int[][] out = new int[n][4];
        for (int v = 0; v < n; v++) {
            for (int k = 0; k < 4; k++) {
                out[v][k] = (int) (g.next() % n);
            }
        }
        double[] rank = new double[n];
        Arrays.fill(rank, 1.0 / n);
        for (int it = 0; it < 20; it++) {
            double[] next = new double[n];
            Arrays.fill(next, 0.15 / n);
            for (int v = 0; v < n; v++) {
                double share = 0.85 * rank[v] / out[v].length;
                for (int u : out[v]) {
                    next[u] += share;
                }
            }
            rank = next;
        }
        int best = 0;
        double sum = 0;
        for (int v = 0; v < n; v++) {
            if (rank[v] > rank[best]) {
                best = v;
            }
            sum += rank[v];
        }
        JsonObject res = new JsonObject();
        res.addProperty("n", n);
        res.addProperty("top", best);
        res.addProperty("top_rank", Math.round(rank[best] * 1e9) / 1e9);
        res.addProperty("sum", Math.round(sum * 1e6) / 1e6);
        return res;
    }
}

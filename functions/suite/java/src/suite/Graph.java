package suite;

/** The generated connected graph shared by Bfs and Mst: a random tree plus three random edges per vertex. */
final class Graph {
    final int[][] to;
    final int[][] weight;

    Graph(int n, Gen g, boolean weighted) {
        int[] deg = new int[n];
        int[] src = new int[(n - 1) * 4];
        int[] dst = new int[(n - 1) * 4];
        int[] w = new int[(n - 1) * 4];
        int e = 0;
        for (int v = 1; v < n; v++) {
            for (int k = 0; k < 4; k++) {
                long s = g.next();
                int u = (int) (k == 0 ? s % v : s % n);
                src[e] = v;
                dst[e] = u;
                w[e] = weighted ? (int) (g.next() % 1000) + 1 : 1;
                deg[v]++;
                deg[u]++;
                e++;
            }
        }
        to = new int[n][];
        weight = new int[n][];
        for (int v = 0; v < n; v++) {
            to[v] = new int[deg[v]];
            weight[v] = new int[deg[v]];
            deg[v] = 0;
        }
        for (int i = 0; i < e; i++) {
            int a = src[i], b = dst[i];
            to[a][deg[a]] = b;
            weight[a][deg[a]++] = w[i];
            to[b][deg[b]] = a;
            weight[b][deg[b]++] = w[i];
        }
    }
}

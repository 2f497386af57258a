package suite;

import com.google.gson.JsonObject;

/** Dense n x n matrix multiply of small generated integers held as doubles. */
public final class MatMul {
    public static JsonObject main(JsonObject args) {
        int n = Gen.intArg(args, "n", 64);
        Gen g = Gen.of(args);
        double[][] a = new double[n][n];
        double[][] b = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                long s = g.next();
                a[i][j] = s % 10;
                b[i][j] = (s >> 4) % 10;
            }
        }
        double total = 0, trace = 0;
        for (int i = 0; i < n; i++) {
            double[] row = new double[n];
            for (int k = 0; k < n; k++) {
                double aik = a[i][k];
                double[] bk = b[k];
                for (int j = 0; j < n; j++) {
                    row[j] += aik * bk[j];
                }
            }
            trace += row[i];
            for (int j = 0; j < n; j++) {
                total += row[j];
            }
        }
        JsonObject out = new JsonObject();
        out.addProperty("n", n);
        out.addProperty("trace", (long) trace);
        out.addProperty("sum", (long) total);
        return out;
    }
}

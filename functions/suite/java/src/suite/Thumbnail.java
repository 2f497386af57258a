package suite;

import com.google.gson.JsonObject;

/** Image downscale: an n x n generated RGB bitmap reduced 4x by box filtering. */
public final class Thumbnail {
    public static JsonObject main(JsonObject args) {
        int n = Gen.intArg(args, "n", 256);
        n -= n % 4;
        Gen g = Gen.of(args);
        byte[] pixels = new byte[n * n * 3];
        for (int i = 0; i < n * n; i++) {
            long s = g.next();
            pixels[3 * i] = (byte) (s & 255);
            pixels[3 * i + 1] = (byte) ((s >> 8) & 255);
            pixels[3 * i + 2] = (byte) ((s >> 16) & 255);
        }
        int m = n / 4;
        byte[] out = new byte[m * m * 3];
        long checksum = 0;
        for (int y = 0; y < m; y++) {
            for (int x = 0; x < m; x++) {
                for (int c = 0; c < 3; c++) {
                    int acc = 0;
                    for (int dy = 0; dy < 4; dy++) {
                        int base = ((4 * y + dy) * n + 4 * x) * 3 + c;
                        acc += (pixels[base] & 255) + (pixels[base + 3] & 255) + (pixels[base + 6] & 255)
                                + (pixels[base + 9] & 255);
                    }
                    out[(y * m + x) * 3 + c] = (byte) (acc >> 4);
                    checksum += acc >> 4;
                }
            }
        }
        JsonObject res = new JsonObject();
        res.addProperty("width", m);
        res.addProperty("height", m);
        res.addProperty("checksum", checksum);
        return res;
    }
}

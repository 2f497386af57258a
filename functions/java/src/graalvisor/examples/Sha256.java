package graalvisor.examples;

import com.google.gson.JsonObject;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;

/** SHA-256 over generated data, hashed in chunks like a file read in blocks. */
public class Sha256 {
    public static JsonObject main(JsonObject args) throws NoSuchAlgorithmException {
        int size = args.has("size") ? args.get("size").getAsInt() : 1 << 20;
        long seed = args.has("seed") ? args.get("seed").getAsLong() : 7;
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        Random random = new Random(seed);
        byte[] block = new byte[64 * 1024];
        int left = size;
        while (left > 0) {
            int n = Math.min(left, block.length);
            random.nextBytes(block);
            digest.update(block, 0, n);
            left -= n;
        }
        JsonObject response = new JsonObject();
        response.addProperty("bytes", size);
        response.addProperty("sha256", HexFormat.of().formatHex(digest.digest()));
        return response;
    }
}

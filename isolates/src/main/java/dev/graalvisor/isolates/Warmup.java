package dev.graalvisor.isolates;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The base image's Java warm-up: a handler like a user's (Gson in and out, collections, strings,
 * regex, a digest), deployed from the isolates jar itself so the handler path (class loader,
 * reflection, the runner thread, the watchdog) is compiled before any function arrives.
 */
public final class Warmup {
    private static final Pattern WORD = Pattern.compile("(\\w+)-(\\d+)");

    private Warmup() {}

    public static JsonObject main(JsonObject args) throws NoSuchAlgorithmException {
        int n = args.has("n") ? args.get("n").getAsInt() : 200;
        long s = 7;
        List<Integer> xs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            s = s * 48271 % 2147483647L;
            xs.add((int) (s % 1000));
        }
        Map<Integer, Integer> counts = new HashMap<>();
        StringBuilder text = new StringBuilder();
        for (int x : xs) {
            counts.merge(x % 17, 1, Integer::sum);
            text.append("item-").append(x).append(' ');
        }
        long total = 0;
        Matcher m = WORD.matcher(text);
        while (m.find()) total += Integer.parseInt(m.group(2));
        JsonArray values = new JsonArray();
        xs.stream().sorted().limit(30).forEach(values::add);
        JsonObject doc = new JsonObject();
        doc.add("values", values);
        doc.addProperty("label", String.format("%d items, %.2f", n, total / 7.0));
        JsonElement back = JsonParser.parseString(doc.toString());
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.toString().getBytes(StandardCharsets.UTF_8));
        JsonObject out = new JsonObject();
        out.addProperty("n", n);
        out.addProperty("checksum", total + counts.size() + back.getAsJsonObject().get("values").getAsJsonArray().size()
                + (digest[0] & 0xff));
        return out;
    }
}

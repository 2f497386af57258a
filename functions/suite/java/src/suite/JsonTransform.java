package suite;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/** JSON transform: build n records, serialise, parse, group by tag, serialise the summary. */
public final class JsonTransform {
    private static final String[] TAGS = {"red", "green", "blue", "cyan", "magenta", "yellow", "black", "white"};

    public static JsonObject main(JsonObject args) {
        int n = Gen.intArg(args, "n", 1000);
        Gen g = Gen.of(args);
        JsonArray records = new JsonArray();
        for (int i = 0; i < n; i++) {
            long s = g.next();
            JsonObject r = new JsonObject();
            r.addProperty("id", i);
            r.addProperty("name", "user" + i);
            r.addProperty("score", s % 1000);
            r.addProperty("active", s % 3 != 0);
            JsonArray tags = new JsonArray();
            tags.add(TAGS[(int) (s % 8)]);
            tags.add(TAGS[(int) ((s >> 3) % 8)]);
            r.add("tags", tags);
            records.add(r);
        }
        JsonObject root = new JsonObject();
        root.add("records", records);
        Gson gson = new Gson();
        String doc = gson.toJson(root);
        JsonObject parsed = JsonParser.parseString(doc).getAsJsonObject();
        long[] count = new long[TAGS.length];
        long[] total = new long[TAGS.length];
        for (JsonElement e : parsed.getAsJsonArray("records")) {
            JsonObject r = e.getAsJsonObject();
            if (!r.get("active").getAsBoolean()) {
                continue;
            }
            for (JsonElement t : r.getAsJsonArray("tags")) {
                int k = java.util.Arrays.asList(TAGS).indexOf(t.getAsString());
                count[k]++;
                total[k] += r.get("score").getAsLong();
            }
        }
        JsonObject summary = new JsonObject();
        String top = "";
        int topK = -1;
        for (int k = 0; k < TAGS.length; k++) {
            if (count[k] == 0) {
                continue;
            }
            JsonObject grp = new JsonObject();
            grp.addProperty("count", count[k]);
            grp.addProperty("total", total[k]);
            summary.add(TAGS[k], grp);
            if (topK < 0 || count[k] > count[topK]) {
                topK = k;
                top = TAGS[k];
            }
        }
        JsonObject out = new JsonObject();
        out.addProperty("n", n);
        out.addProperty("bytes", doc.length());
        out.addProperty("groups", summary.size());
        out.addProperty("top", top);
        out.addProperty("summary_bytes", gson.toJson(summary).length());
        return out;
    }
}

package dev.graalvisor.isolates;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.List;

/**
 * What one invocation or deployment returns to Python, one string per crossing: the meta as
 * compact JSON, then, on success, a newline and the function's result JSON as the guest wrote
 * it. Compact JSON escapes every newline, so the first one splits the two; the result is never
 * escaped into the meta (graalvisor/protocol/messages.py reads this: Reply.from_outcome).
 */
final class Outcome {
    private Outcome() {}

    static String success(String resultJson, String start, long initNs, long runNs, List<String> logs) {
        JsonObject o = new JsonObject();
        o.addProperty("ok", true);
        o.addProperty("start", start);
        o.addProperty("init_ns", initNs);
        o.addProperty("run_ns", runNs);
        o.add("logs", toArray(logs));
        return o + "\n" + resultJson;
    }

    static String failure(String kind, String message, String type, int line, String start,
                          long initNs, long runNs, List<String> logs) {
        JsonObject o = new JsonObject();
        o.addProperty("ok", false);
        o.addProperty("kind", kind);
        o.addProperty("message", message == null ? "" : message);
        if (type != null) o.addProperty("type", type);
        if (line > 0) o.addProperty("line", line);
        if (start != null) o.addProperty("start", start);
        o.addProperty("init_ns", initNs);
        o.addProperty("run_ns", runNs);
        o.add("logs", toArray(logs));
        return o.toString();
    }

    static String failure(String kind, String message) {
        return failure(kind, message, null, 0, null, 0, 0, List.of());
    }

    static String deployed() {
        JsonObject o = new JsonObject();
        o.addProperty("ok", true);
        return o.toString();
    }

    private static JsonArray toArray(List<String> logs) {
        JsonArray a = new JsonArray();
        for (String line : logs) a.add(line);
        return a;
    }
}

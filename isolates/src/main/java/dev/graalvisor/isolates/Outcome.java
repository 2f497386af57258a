package dev.graalvisor.isolates;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * What one invocation or deployment returns to Python, one byte array per crossing, laid out as
 * the body of a reply frame: a 4-byte big-endian length of the meta, the meta as compact JSON,
 * then, on success, the function's result JSON as UTF-8, never escaped into the meta. The worker
 * adds the request id to the meta and sends the result bytes on as they are
 * (graalvisor/worker/replies.py reads this).
 */
final class Outcome {
    private Outcome() {}

    static byte[] success(String resultJson, String start, long initNs, long runNs, List<String> logs) {
        JsonObject o = new JsonObject();
        o.addProperty("ok", true);
        o.addProperty("start", start);
        o.addProperty("init_ns", initNs);
        o.addProperty("run_ns", runNs);
        o.add("logs", toArray(logs));
        return body(o, resultJson.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] failure(Failure f, String start, long initNs, long runNs, List<String> logs) {
        return failure(f.kind, f.getMessage(), f.type, f.line, f.value, start, initNs, runNs, logs);
    }

    /** {@code valueJson}: a thrown non-Error value as JSON (the meta's "value"), or null. */
    static byte[] failure(String kind, String message, String type, int line, String valueJson, String start,
                          long initNs, long runNs, List<String> logs) {
        JsonObject o = new JsonObject();
        o.addProperty("ok", false);
        o.addProperty("kind", kind);
        o.addProperty("message", message == null ? "" : message);
        if (type != null) o.addProperty("type", type);
        if (line > 0) o.addProperty("line", line);
        if (valueJson != null) {
            try {
                o.add("value", JsonParser.parseString(valueJson));
            } catch (RuntimeException ignored) {
                // not JSON after all: the message still says what was thrown
            }
        }
        if (start != null) o.addProperty("start", start);
        o.addProperty("init_ns", initNs);
        o.addProperty("run_ns", runNs);
        o.add("logs", toArray(logs));
        return body(o, EMPTY);
    }

    static byte[] failure(String kind, String message) {
        return failure(kind, message, null, 0, null, null, 0, 0, List.of());
    }

    static byte[] deployed() {
        JsonObject o = new JsonObject();
        o.addProperty("ok", true);
        return body(o, EMPTY);
    }

    private static final byte[] EMPTY = new byte[0];

    private static byte[] body(JsonObject meta, byte[] result) {
        byte[] m = meta.toString().getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(4 + m.length + result.length).putInt(m.length).put(m).put(result).array();
    }

    private static JsonArray toArray(List<String> logs) {
        JsonArray a = new JsonArray();
        for (String line : logs) a.add(line);
        return a;
    }
}

package dev.graalvisor.isolates;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.LinkedHashMap;
import java.util.Map;

/** What the gateway says about one function version: parsed once from JSON at deploy time. */
record Spec(String key, String language, String entrypoint, boolean freshPerInvocation,
            Map<String, String> env, String source, Map<String, String> files, String artifactPath) {

    static Spec parse(String json) {
        JsonObject o = JsonParser.parseString(json).getAsJsonObject();
        return new Spec(
                o.get("key").getAsString(),
                o.get("language").getAsString(),
                o.has("entrypoint") ? o.get("entrypoint").getAsString() : "main",
                o.has("isolation") && o.get("isolation").getAsString().equals("invocation"),
                strings(o.getAsJsonObject("env")),
                o.has("source") && !o.get("source").isJsonNull() ? o.get("source").getAsString() : null,
                o.has("files") && !o.get("files").isJsonNull() ? strings(o.getAsJsonObject("files")) : null,
                o.has("artifact_path") && !o.get("artifact_path").isJsonNull() ? o.get("artifact_path").getAsString() : null);
    }

    private static Map<String, String> strings(JsonObject o) {
        Map<String, String> m = new LinkedHashMap<>();
        if (o != null) for (Map.Entry<String, JsonElement> e : o.entrySet()) m.put(e.getKey(), e.getValue().getAsString());
        return m;
    }
}

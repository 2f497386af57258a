package suite;

import com.google.gson.JsonObject;

/** hello: the smallest function; measures platform overhead only. */
public final class Hello {
    public static JsonObject main(JsonObject args) {
        String name = args != null && args.has("name") ? args.get("name").getAsString() : "world";
        JsonObject out = new JsonObject();
        out.addProperty("greeting", "Hello, " + name + "!");
        return out;
    }
}

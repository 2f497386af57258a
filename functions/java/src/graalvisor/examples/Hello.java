package graalvisor.examples;

import com.google.gson.JsonObject;

public class Hello {
    public static JsonObject main(JsonObject args) {
        String name = args.has("name") ? args.get("name").getAsString() : "world";
        System.out.println("greeting " + name);
        JsonObject response = new JsonObject();
        response.addProperty("greeting", "hello " + name);
        return response;
    }
}

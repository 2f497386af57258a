package suite;

import com.google.gson.JsonObject;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Dynamic HTML rendering: n table rows through a tiny {{key}} template engine. */
public final class Html {
    private static final Pattern KEY = Pattern.compile("\\{\\{(\\w+)\\}\\}");

    static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    static String render(String template, Map<String, Object> values) {
        Matcher m = KEY.matcher(template);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            Object v = values.get(m.group(1));
            m.appendReplacement(b, Matcher.quoteReplacement(escape(v == null ? "" : String.valueOf(v))));
        }
        m.appendTail(b);
        return b.toString();
    }

    public static JsonObject main(JsonObject args) {
        int n = Gen.intArg(args, "n", 200);
        Gen g = Gen.of(args);
        String row = "<tr><td>{{i}}</td><td>{{value}}</td><td>{{label}}</td></tr>";
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < n; i++) {
            body.append(render(row, Map.of("i", i, "value", g.next() % 100000, "label", "<item " + i + ">")));
        }
        String user = args != null && args.has("username") ? args.get("username").getAsString() : "ada";
        String page = render("<html><head><title>{{title}}</title></head><body><h1>Hello {{user}}</h1>",
                Map.of("title", "graalvisor", "user", user))
                + "<table>" + body + "</table></body></html>";
        JsonObject out = new JsonObject();
        out.addProperty("rows", n);
        out.addProperty("size", page.length());
        return out;
    }
}

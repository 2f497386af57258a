import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Baseline instance host for Java: one JVM runs one function, one invocation at a time.
 * Protocol on stdin/stdout: one JSON object per line in (params), one per line out ({result} | {error}).
 * Usage: Host JAR CLASS[#method]; the method is public static JsonObject main(JsonObject).
 */
public final class Host {
    public static void main(String[] argv) throws Exception {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);
        System.setOut(System.err); // what the function prints is a log line, never a reply
        String[] target = argv[1].split("#", 2);
        URLClassLoader loader = new URLClassLoader(new URL[] {Path.of(argv[0]).toUri().toURL()}, Host.class.getClassLoader());
        Method method = loader.loadClass(target[0]).getMethod(target.length > 1 ? target[1] : "main", JsonObject.class);
        out.print("{\"ready\": true}\n");
        out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            JsonObject reply = new JsonObject();
            try {
                Object result = method.invoke(null, JsonParser.parseString(line).getAsJsonObject());
                reply.add("result", result == null ? new JsonObject() : (JsonObject) result);
            } catch (InvocationTargetException e) {
                reply.addProperty("error", String.valueOf(e.getCause()));
            } catch (RuntimeException e) {
                reply.addProperty("error", String.valueOf(e));
            }
            out.print(reply + "\n");
            out.flush();
        }
    }
}

package dev.graalvisor.isolates;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A Java function: one class loader per function version, a fresh handler instance per
 * isolate. Trusted code: it runs in the worker JVM without a sandbox.
 */
final class JavaDeployment extends Deployment {
    private final URLClassLoader loader;
    private final Method method;

    JavaDeployment(Runtime runtime, Spec spec) throws Failure {
        super(runtime, spec);
        String entry = spec.entrypoint().equals("main") ? null : spec.entrypoint();
        if (entry == null) {
            throw new Failure("load", "a Java function needs entrypoint 'pkg.Class' or 'pkg.Class#method'", "EntrypointError", 0);
        }
        String className = entry.contains("#") ? entry.substring(0, entry.indexOf('#')) : entry;
        String methodName = entry.contains("#") ? entry.substring(entry.indexOf('#') + 1) : "main";
        try {
            URL jar = Path.of(spec.artifactPath()).toUri().toURL();
            this.loader = new URLClassLoader("fn-" + spec.key(), new URL[] {jar}, JavaDeployment.class.getClassLoader());
            Class<?> cls = Class.forName(className, true, loader);
            this.method = cls.getMethod(methodName, JsonObject.class);
        } catch (ClassNotFoundException e) {
            throw new Failure("load", "the jar has no class '" + className + "'", "EntrypointError", 0);
        } catch (NoSuchMethodException e) {
            throw new Failure("load", "class '" + className + "' has no public method " + methodName
                    + "(com.google.gson.JsonObject)", "EntrypointError", 0);
        } catch (IOException | LinkageError | RuntimeException e) {
            throw new Failure("load", "cannot load the jar: " + e, e.getClass().getSimpleName(), 0);
        }
        if (!JsonObject.class.isAssignableFrom(method.getReturnType())) {
            throw new Failure("load", methodName + " must return com.google.gson.JsonObject", "EntrypointError", 0);
        }
    }

    @Override
    Isolate newIsolate() throws Failure {
        Object instance = null;
        if (!Modifier.isStatic(method.getModifiers())) {
            try {
                instance = method.getDeclaringClass().getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new Failure("load", "cannot create the handler: " + e, e.getClass().getSimpleName(), 0);
            }
        }
        return new JavaIsolate(instance);
    }

    @Override
    void close() {
        super.close();
        try {
            loader.close();
        } catch (IOException ignored) {
            // the jar stays in the code store; nothing to recover
        }
    }

    private final class JavaIsolate implements Isolate {
        private final Object instance;
        private final LogBuffer logs = new LogBuffer();
        private volatile boolean broken;

        JavaIsolate(Object instance) {
            this.instance = instance;
        }

        @Override
        public String call(String paramsJson, long timeoutMs, String envJson) throws Failure {  // no env hook in Java
            JsonObject params;
            try {
                JsonElement e = JsonParser.parseString(paramsJson);
                params = e.isJsonObject() ? e.getAsJsonObject() : new JsonObject();
            } catch (RuntimeException e) {
                throw new Failure("error", "params are not a JSON object: " + e.getMessage(), "JsonParseException", 0);
            }
            // A separate thread so a timeout can answer even if the function never returns.
            Future<Object> run = runtime.javaRunner().submit(() -> {
                ThreadRoutedStream.CURRENT.set(logs);
                Thread.currentThread().setContextClassLoader(loader);
                try {
                    return method.invoke(instance, params);
                } finally {
                    ThreadRoutedStream.CURRENT.remove();
                }
            });
            try {
                Object r = run.get(timeoutMs, TimeUnit.MILLISECONDS);
                return r == null ? "{}" : r.toString();
            } catch (TimeoutException e) {
                broken = true;
                run.cancel(true);  // interrupts; code that ignores interrupts keeps its thread
                throw new Failure("timeout", "the function ran past its timeout of " + timeoutMs + " ms", null, 0);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Failure("error", "interrupted", "InterruptedException", 0);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause() instanceof InvocationTargetException ite ? ite.getCause() : e.getCause();
                throw new Failure("error", String.valueOf(cause.getMessage()), cause.getClass().getName(), lineOf(cause));
            }
        }

        private int lineOf(Throwable t) {
            for (StackTraceElement el : t.getStackTrace()) {
                if (el.getClassName().equals(method.getDeclaringClass().getName())) return Math.max(el.getLineNumber(), 0);
            }
            return 0;
        }

        @Override
        public List<String> drainLogs() {
            return logs.drainLines();
        }

        @Override
        public boolean reusable() {
            return !broken;
        }

        @Override
        public boolean reseed() {
            return true;  // java.util.Random and SecureRandom draw fresh seeds from the clone's own clock and /dev/urandom
        }

        @Override
        public void close() {
            // nothing held beyond the instance, which the GC takes
        }
    }
}

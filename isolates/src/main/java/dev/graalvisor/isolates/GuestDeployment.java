package dev.graalvisor.isolates;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.function.BooleanSupplier;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.PolyglotException;
import org.graalvm.polyglot.Source;
import org.graalvm.polyglot.Value;

/** A JS or Python function: its Sources are built once so every isolate shares the parsed code. */
final class GuestDeployment extends Deployment {
    private static final Gson GSON = new Gson();
    private final String languageId;
    private final String sourceName;
    private final Source module;
    private final Source pythonPrelude;  // Python: the version's env into os.environ
    private final Source runner;  // this version's own copy of the runner (Runtime.runnerSource)
    private final String envJson;

    GuestDeployment(Runtime runtime, Spec spec) throws Failure {
        super(runtime, spec);
        this.languageId = spec.language().equals("js") ? "js" : "python";
        this.envJson = GSON.toJson(spec.env());
        if (spec.files() != null) {
            this.sourceName = spec.language().equals("js") ? jsEntryFile(spec) : "__main__.py";
            this.module = null;
        } else {
            this.sourceName = spec.key().split("@")[0] + (languageId.equals("js") ? ".js" : ".py");
            this.module = Source.newBuilder(languageId, spec.source(), sourceName).buildLiteral();
        }
        this.runner = runtime.runnerSource(languageId, spec.key());
        this.pythonPrelude = languageId.equals("js") ? null
                : Source.newBuilder(languageId, "__gv_setenv(" + GSON.toJson(envJson) + ")", "<prelude>").buildLiteral();
    }

    /** A GraalPy isolate takes 150-600 ms to make here (its imports run afresh), a JS one about 0.2 ms. */
    @Override
    int maxSpares() {
        return languageId.equals("python") ? 4 : 8;
    }

    /** GraalPy: a warm isolate comes back within a call; a new one takes hundreds of ms. */
    @Override
    long idleWaitMs() {
        return languageId.equals("python") ? 250 : 0;
    }

    /** A new isolate needs a blank context first: seconds to make on a cold worker when none is ready. */
    @Override
    long makeCostNs() {
        return Math.max(super.makeCostNs(), runtime.blankCostNs(languageId));
    }

    @Override
    Isolate newIsolate() throws Failure {
        Runtime.Blank blank = runtime.blankContext(languageId);
        Context context = blank.context();
        try {
            // JS: the prelude (prelude.js) gives back the isolate's Math.random seeder, called again
            // in each clone that reuses the isolate, and its event loop, which the runner steps.
            Value jsPrelude = languageId.equals("js") ? context.eval(runtime.jsPreludeSource())
                    .execute(envJson, context.eval(runtime.encodingSource())) : null;
            Value jsSeeder = jsPrelude != null ? jsPrelude.getArrayElement(0) : null;
            BooleanSupplier reseed = jsSeeder != null
                    ? () -> seedJs(jsSeeder) : () -> runtime.reseedPython(context);
            if (jsSeeder != null) seedJs(jsSeeder);
            Value main = languageId.equals("js") ? loadJs(context) : loadPython(context);
            if (main == null || !main.canExecute()) {
                throw new Failure("load", "the code defines no function '" + entryName() + "' (the entrypoint)", "EntrypointError", 0);
            }
            Value factory = runtime.runnerFactory(context, languageId, runner);
            Value runner = jsPrelude != null
                    ? factory.execute(main, sourceName, jsPrelude.getArrayElement(1)) : factory.execute(main, sourceName);
            return new GuestIsolate(context, reseed, runner, blank.logs(), runtime.watchdog(), runtime.javaRunner());
        } catch (PolyglotException e) {
            context.close(true);
            int line = e.getSourceLocation() != null ? e.getSourceLocation().getStartLine() : 0;
            String type = e.isSyntaxError() ? "SyntaxError" : "LoadError";
            throw new Failure("load", e.getMessage(), type, line);
        } catch (Failure | RuntimeException e) {
            context.close(true);
            throw e;
        }
    }

    private String entryName() {
        return spec.entrypoint();
    }

    private Value loadJs(Context context) {
        Value exports;
        if (module != null) {
            // A single file has a require too (built-ins, or a clear error), made on its first call.
            context.eval(runtime.lazyRequireSource()).execute(
                    context.eval(runtime.requireSource()), context.eval(runtime.builtinsSource()), sourceName);
            context.eval(module);
            Value global = context.getBindings("js").getMember(entryName());
            if (global != null && global.canExecute()) return global;
            exports = context.getBindings("js").getMember("module").getMember("exports");
        } else {
            Value builtins = context.eval(runtime.builtinsSource()).execute();
            Value require = context.eval(runtime.requireSource()).execute(GSON.toJson(spec.files()), builtins);
            exports = require.execute(sourceName);
        }
        if (exports.hasMember(entryName()) && exports.getMember(entryName()).canExecute()) return exports.getMember(entryName());
        return exports.canExecute() && entryName().equals("main") ? exports : null;
    }

    private boolean seedJs(Value seeder) {
        long a = runtime.nextSeed();
        long b = runtime.nextSeed();
        try {
            seeder.execute((int) a, (int) (a >>> 32), (int) b | 1, (int) (b >>> 32));  // never all zero
            return true;
        } catch (RuntimeException e) {
            return false;  // a closed or broken context: the isolate is dropped instead
        }
    }

    private Value loadPython(Context context) {
        context.eval(pythonPrelude);
        if (module != null) {
            context.eval(module);
            return context.getBindings("python").getMember(entryName());
        }
        Value namespace = context.getBindings("python").getMember("__gv_load_zip").execute(GSON.toJson(spec.files()));
        return namespace.hasHashEntries() ? namespace.getHashValueOrDefault(entryName(), null) : null;
    }

    /** package.json "main", else index.js: the way OpenWhisk's Node.js runtime picks a zip's entry. */
    private static String jsEntryFile(Spec spec) throws Failure {
        String pkg = spec.files().get("package.json");
        if (pkg != null) {
            try {
                JsonObject o = JsonParser.parseString(pkg).getAsJsonObject();
                if (o.has("main")) {
                    String main = o.get("main").getAsString().replaceFirst("^\\./", "");
                    if (spec.files().containsKey(main)) return main;
                    if (spec.files().containsKey(main + ".js")) return main + ".js";
                    if (spec.files().containsKey(main + "/index.js")) return main + "/index.js";
                    throw new Failure("load", "package.json names main '" + main + "' but the zip has no such file", "EntrypointError", 0);
                }
            } catch (RuntimeException e) {
                throw new Failure("load", "package.json is not valid JSON: " + e.getMessage(), "SyntaxError", 0);
            }
        }
        if (spec.files().containsKey("index.js")) return "index.js";
        throw new Failure("load", "the zip has neither package.json with \"main\" nor index.js", "EntrypointError", 0);
    }
}

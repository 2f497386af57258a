package dev.graalvisor.isolates;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.Engine;
import org.graalvm.polyglot.SandboxPolicy;
import org.graalvm.polyglot.Source;
import org.graalvm.polyglot.Value;

/**
 * The worker's one shared Engine and what every isolate needs from it: blank contexts
 * (pre-created for GraalPy, whose context start is slow), the runner sources, a watchdog.
 */
final class Runtime {
    /**
     * A context with nothing of any function in it yet, the buffer its output goes to, and the
     * restore generation its random state belongs to.
     */
    record Blank(Context context, LogBuffer logs, int generation) {}

    private final Engine engine;
    private final Source jsPrelude;
    private final Source jsEncoding;
    private final Source jsLazyRequire;
    private final Source jsRunner;
    private final Source jsRequire;
    private final Source jsBuiltins;
    private final Source pyRunner;
    private final Source pyJsonScanner;  // one Source for every context: its compiled code is shared
    // Pre-created contexts per language: a GraalPy context takes tens of ms (seconds while the
    // JIT is cold) and a JS one about a millisecond; taking a ready one is a queue poll.
    private final Map<String, LinkedBlockingDeque<Blank>> blanks =
            Map.of("js", new LinkedBlockingDeque<>(), "python", new LinkedBlockingDeque<>());
    private final Map<String, Integer> targets;  // the floor; demand raises it up to MAX_BLANKS
    private static final int MAX_BLANKS = 8;
    private final Map<String, Demand> blankTakes = Map.of("js", new Demand(MAX_BLANKS), "python", new Demand(MAX_BLANKS));
    // Versions that needed new isolates lately: the refiller keeps their spares (Deployment).
    private final Set<Deployment> spawning = ConcurrentHashMap.newKeySet();
    // How long the last blank context of each language took to make (the refiller's or inline).
    private final Map<String, Long> lastBlankNs = new ConcurrentHashMap<>();
    // Isolates made since this JVM started (a clone goes on from its image's count), of every
    // language: by calls, deploys and the spare maker alike.
    private final AtomicLong isolatesMade = new AtomicLong();
    private final Watchdog watchdog;
    private final ExecutorService javaRunner;
    private final ExecutorService closer;
    private final Thread refiller;
    private SplittableRandom seeds = new SplittableRandom(new SecureRandom().nextLong());
    // Bumped by every restore: pooled contexts of an older generation are re-seeded when next
    // taken, so waking a clone costs nothing and only what runs pays, once.
    private volatile int generation;
    // A function template holds its blanks as they are: a GraalPy context made now would keep
    // the JIT compiling its start-up code for tens of seconds, in the template and in every
    // clone. The hold ends at the first blank a clone (a later generation) takes.
    private volatile int heldAt = -1;

    Runtime(int pythonBlanksTarget, int jsBlanksTarget) {
        this.engine = Engine.newBuilder("js", "python")
                .sandbox(SandboxPolicy.CONSTRAINED)
                .out(OutputStream.nullOutputStream())
                .err(OutputStream.nullOutputStream())
                .option("engine.WarnInterpreterOnly", "false")
                .build();
        this.jsPrelude = resource("js", "prelude.js");
        this.jsRunner = resource("js", "runner.js");
        this.jsRequire = resource("js", "require.js");
        this.jsBuiltins = resource("js", "builtins.js");
        this.jsEncoding = resource("js", "encoding.js");
        this.jsLazyRequire = Source.newBuilder("js", """
                (function (makeRequire, makeBuiltins, sourceName) {
                  let real = null;
                  const get = () => real || (real = makeRequire("{}", makeBuiltins()).requireFrom(sourceName));
                  const require = function require(request) { return get()(request); };
                  require.resolve = (request) => get().resolve(request);
                  globalThis.require = require;
                })""", "<require>").buildLiteral();
        this.pyRunner = resource("python", "runner.py");
        this.pyJsonScanner = resource("python", "json_scanner.py");
        this.targets = Map.of("js", jsBlanksTarget, "python", pythonBlanksTarget);
        this.watchdog = new Watchdog("gv-watchdog");
        this.javaRunner = Executors.newCachedThreadPool(daemon("gv-java"));
        this.closer = Executors.newSingleThreadExecutor(daemon("gv-closer"));
        this.refiller = daemon("gv-blanks").newThread(this::refillBlanks);
        refiller.start();
    }

    Engine engine() {
        return engine;
    }

    Watchdog watchdog() {
        return watchdog;
    }

    ExecutorService javaRunner() {
        return javaRunner;
    }

    /** Where spent isolates are closed, off the calls' threads. */
    ExecutorService closer() {
        return closer;
    }

    /** Run in every JS isolate first: Math.random, process, timers; gives back [reseed, loop]. */
    Source jsPreludeSource() {
        return jsPrelude;
    }

    /** Buffer, TextEncoder/TextDecoder, atob/btoa: a factory the prelude calls on their first use. */
    Source encodingSource() {
        return jsEncoding;
    }

    /** A single-file function's global require, over no files: built-ins, or an error naming them. */
    Source lazyRequireSource() {
        return jsLazyRequire;
    }

    Source requireSource() {
        return jsRequire;
    }

    /** The Node.js built-ins a zip's require provides (events, path, util, ...). */
    Source builtinsSource() {
        return jsBuiltins;
    }

    /**
     * The runner's code under a name of the version's own, so each version parses its own copy.
     * A runner shared by every version calls a different main on each switch of function: its
     * compiled code, which inlines the last main, is thrown away and recompiled (1-2 s of JIT for
     * JS, on the serving cores) every time two functions take turns in a worker.
     */
    Source runnerSource(String languageId, String versionKey) {
        Source shared = languageId.equals("js") ? jsRunner : pyRunner;
        return Source.newBuilder(languageId, shared.getCharacters(), "<graalvisor runner of " + versionKey + ">").buildLiteral();
    }

    /** JS: runner.js's factory (main, sourceName, loop); Python: runner.py's (main, sourceName). */
    Value runnerFactory(Context context, String languageId, Source runner) {
        Value evaluated = context.eval(runner);
        return languageId.equals("js") ? evaluated : context.getBindings("python").getMember("__gv_runner");
    }

    Blank blankContext(String languageId) {
        LinkedBlockingDeque<Blank> ready = blanks.get(languageId);
        blankTakes.get(languageId).record();
        Blank b;
        while ((b = ready.pollFirst()) != null) {
            // A JS blank holds no guest state yet: its Math.random is installed per isolate.
            if (b.generation() == generation || languageId.equals("js") || reseedPython(b.context())) break;
            b.context().close(true);
        }
        if (heldAt >= 0 && heldAt != generation) heldAt = -1;
        synchronized (blanks) {
            blanks.notifyAll();  // wake the refiller
        }
        return b != null ? b : newBlank(languageId);
    }

    /** A version just needed a new isolate: the refiller makes spares for it while that lasts. */
    void wantSpares(Deployment deployment) {
        spawning.add(deployment);
        synchronized (blanks) {
            blanks.notifyAll();
        }
    }

    /** Blanks to keep ready: the configured floor, or as many as were taken in the last few seconds. */
    int blankTarget(String languageId) {
        return Math.max(targets.get(languageId), Math.min(MAX_BLANKS, blankTakes.get(languageId).recent()));
    }

    void holdBlanks() {
        heldAt = generation;
    }

    /**
     * Blanks up to the configured floor, made now on the caller's thread; the hold stays. A
     * rolling image's warm-ups take the template's blanks and the hold keeps them from being made
     * again, so its clones started with none: on the 200-function trace three Python versions'
     * first calls at the replay's start each made a GraalPy context, 1.4-2.3 s, the refiller a
     * fourth beside them.
     */
    int fillBlanks() {
        int made = 0;
        for (String lang : List.of("python", "js")) {
            while (blanks.get(lang).size() < targets.get(lang)) {
                blanks.get(lang).offerLast(newBlank(lang));
                made++;
            }
        }
        return made;
    }

    int generation() {
        return generation;
    }

    void noteIsolateMade() {
        isolatesMade.incrementAndGet();
    }

    long isolatesMade() {
        return isolatesMade.get();
    }

    int blanksReady(String languageId) {
        return blanks.get(languageId).size();
    }

    /** What a new context of the language costs now: nothing while a blank is ready, else what the last one took. */
    long blankCostNs(String languageId) {
        return blanks.get(languageId).isEmpty() ? lastBlankNs.getOrDefault(languageId, 0L) : 0L;
    }

    private Blank newBlank(String languageId) {
        long t0 = System.nanoTime();
        try {
            return makeBlank(languageId);
        } finally {
            lastBlankNs.put(languageId, System.nanoTime() - t0);
        }
    }

    private Blank makeBlank(String languageId) {
        LogBuffer logs = new LogBuffer();
        // CONSTRAINED: no host access, no I/O, no threads, no native code, no process creation.
        Context context = Context.newBuilder(languageId)
                .engine(engine)
                .sandbox(SandboxPolicy.CONSTRAINED)
                .out(logs)
                .err(logs)
                .build();
        if (languageId.equals("python")) {
            context.eval(pyJsonScanner);  // before anything imports json, which takes it from _json
            context.eval(pyRunner);  // imports nothing but GraalPy's built-in modules
        } else {
            context.initialize("js");
        }
        return new Blank(context, logs, generation);
    }

    /**
     * The background maker, one thread: first spares for versions that needed new isolates
     * lately, then blanks up to their targets; then it trims what demand no longer asks for and
     * sleeps until someone takes something (or a second passes).
     */
    private void refillBlanks() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                boolean made = heldAt < 0 && (fillOneSpare() || fillOneBlank());
                for (Deployment d : spawning) {
                    if (!d.trimSpares() && d.spareTarget() == 0) spawning.remove(d);
                }
                if (!made) {
                    synchronized (blanks) {
                        blanks.wait(1000);
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // Keep serving without blanks: acquiring falls back to creating a context inline.
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private boolean fillOneSpare() {
        for (Deployment d : spawning) {
            try {
                if (d.fillSpare()) return true;
            } catch (Failure f) {
                spawning.remove(d);  // its code fails to load: every call says so, no spare helps
            }
        }
        return false;
    }

    private boolean fillOneBlank() {
        String shortOf = null;
        for (String lang : List.of("python", "js")) {
            if (blanks.get(lang).size() < blankTarget(lang)) shortOf = lang;
        }
        if (shortOf == null) return false;
        blanks.get(shortOf).offerLast(newBlank(shortOf));
        return true;
    }

    /**
     * Re-seeds a restored clone's Python context: {@code random}, where the context has imported
     * it, from 128 bits of the clone's own seed stream (imported later, it seeds itself there).
     * {@code random.seed()} would draw 2.5 kB through SecureRandom and hash them, all in code a
     * fresh clone runs cold: 15-25 ms of its first call.
     */
    boolean reseedPython(Context context) {
        try {
            context.getBindings("python").getMember("__gv_reseed").execute(nextSeed(), nextSeed());
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** Seeds for guest random generators; re-seeded in every clone from the clone's own entropy. */
    synchronized long nextSeed() {
        return seeds.nextLong();
    }

    void afterRestore(long entropy) {
        synchronized (this) {
            seeds = new SplittableRandom(entropy);
        }
        generation++;
    }

    private static Source resource(String languageId, String name) {
        try (InputStream in = Runtime.class.getResourceAsStream(name)) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return Source.newBuilder(languageId, text, "<graalvisor " + name + ">").buildLiteral();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}

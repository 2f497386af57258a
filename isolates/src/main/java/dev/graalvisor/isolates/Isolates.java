package dev.graalvisor.isolates;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.management.JMException;
import javax.management.ObjectName;

/**
 * The whole surface the Python worker calls (through JPype): a few coarse calls that take
 * JSON strings and return one string each (JSON, or an {@link Outcome}), so one invocation
 * costs one crossing.
 */
public final class Isolates {
    private static volatile Runtime runtime;
    private static final Map<String, Deployment> DEPLOYMENTS = new ConcurrentHashMap<>();
    private static InvokeLane lane;

    private Isolates() {}

    /** Creates the shared Engine; returns a JSON description of the runtime. */
    public static synchronized String start(int pythonBlanks, int jsBlanks) {
        if (runtime == null) {
            System.setOut(new PrintStream(new ThreadRoutedStream(System.out), true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(new ThreadRoutedStream(System.err), true, StandardCharsets.UTF_8));
            runtime = new Runtime(pythonBlanks, jsBlanks);
        }
        return describe();
    }

    public static String describe() {
        JsonObject o = new JsonObject();
        o.addProperty("java_version", System.getProperty("java.version"));
        o.addProperty("java_vendor", System.getProperty("java.vendor"));
        o.addProperty("graalvm_version", runtime.engine().getVersion());
        o.addProperty("truffle_runtime", runtime.engine().getImplementationName());
        o.addProperty("optimizing", !runtime.engine().getImplementationName().toLowerCase().contains("interpreted"));
        JsonObject langs = new JsonObject();
        runtime.engine().getLanguages().forEach((id, lang) -> langs.addProperty(id, lang.getVersion()));
        o.add("languages", langs);
        o.addProperty("deployments", DEPLOYMENTS.size());
        JsonArray keys = new JsonArray();
        DEPLOYMENTS.keySet().forEach(keys::add);
        o.add("deployed", keys);
        // A rolling template calls in turn only the versions a clone would find an isolate of.
        JsonArray idle = new JsonArray();
        DEPLOYMENTS.forEach((key, d) -> { if (d.idleCount() > 0) idle.add(key); });
        o.add("idle_keys", idle);
        o.addProperty("python_blanks_ready", runtime.blanksReady("python"));
        o.addProperty("js_blanks_ready", runtime.blanksReady("js"));
        o.addProperty("watchdog_alarms", runtime.watchdog().armedCount());  // calls running now
        o.addProperty("isolates_made", runtime.isolatesMade());
        // Compiled code is never flushed (worker/jvm.py), so a worker holding many compiled
        // versions can fill the code cache, after which nothing more is compiled: say how full.
        long used = 0, max = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getName().startsWith("CodeHeap")) {
                used += pool.getUsage().getUsed();
                max += pool.getUsage().getMax();
            }
        }
        o.addProperty("code_cache_used", used);
        o.addProperty("code_cache_max", max);
        // A class loaded for the first time can throw compiled code away (base_image.py, the
        // base warm-up's last passes): the warm-up watches this count.
        o.addProperty("classes_loaded", ManagementFactory.getClassLoadingMXBean().getTotalLoadedClassCount());
        return o.toString();
    }

    /** Loads a function version (idempotent); a syntax error or missing entrypoint fails here. */
    public static byte[] deploy(String specJson) {
        Spec spec = Spec.parse(specJson);
        if (DEPLOYMENTS.containsKey(spec.key())) return Outcome.deployed();
        try {
            Deployment d = spec.language().equals("java") ? new JavaDeployment(runtime, spec) : new GuestDeployment(runtime, spec);
            d.validate();
            Deployment raced = DEPLOYMENTS.putIfAbsent(spec.key(), d);
            if (raced != null) d.close();
            return Outcome.deployed();
        } catch (Failure f) {
            return Outcome.failure(f, null, 0, 0, java.util.List.of());
        }
    }

    /**
     * Runs one invocation; {@code params} is the caller's JSON as UTF-8, passed on untouched.
     * {@code envJson}: a JSON object of strings set for this call only (JS process.env, Python
     * os.environ; restored after it), or null.
     */
    public static byte[] invoke(String key, byte[] params, long timeoutMs, String envJson) {
        Deployment d = DEPLOYMENTS.get(key);
        if (d == null) return Outcome.failure("not_deployed", "function version " + key + " is not loaded in this worker");
        return d.invoke(new String(params, StandardCharsets.UTF_8), timeoutMs, envJson);
    }

    /**
     * Opens the invoke lane (see {@link InvokeLane}): a second connection to the gateway's
     * {@code socketPath}, on which Java reads and answers invocations by itself.
     */
    public static synchronized void openLane(String socketPath, String token, int threads)
            throws java.io.IOException {
        closeLane();
        lane = InvokeLane.open(socketPath, token, threads);
    }

    /** Closes the invoke lane, if open, once its readers have stopped: before a CRIU dump. */
    public static synchronized void closeLane() throws java.io.IOException {
        if (lane == null) return;
        try {
            lane.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        lane = null;
    }

    /** A template about to be warmed and dumped: no new blank contexts until a clone needs one. */
    public static void holdBlanks() {
        runtime.holdBlanks();
    }

    /** A held template before its dump: blank contexts up to the floor, so clones start with them. */
    public static int fillBlanks() {
        return runtime.fillBlanks();
    }

    /**
     * Before a CRIU dump: shed garbage and give the freed heap back, so the image holds live
     * data only. Pooled isolates stay (they are the point). The clone grows its heap again.
     */
    public static void beforeCheckpoint() {
        shrinkHeap();
    }

    /** Collects garbage and uncommits the freed heap (Serial GC shrinks at a full collection):
     * after a dump's warm-up, and when the gateway evicts versions to meet its memory budget. */
    public static void shrinkHeap() {
        HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        String min = vm.getVMOption("MinHeapFreeRatio").getValue();
        String max = vm.getVMOption("MaxHeapFreeRatio").getValue();
        vm.setVMOption("MinHeapFreeRatio", "0");
        vm.setVMOption("MaxHeapFreeRatio", "5");
        collect();
        collect();
        vm.setVMOption("MaxHeapFreeRatio", max);
        vm.setVMOption("MinHeapFreeRatio", min);
    }

    /**
     * Closes the longest idle isolates until at most {@code percent} of the old generation is in
     * use after a full collection (a rolling image's template, before its dump); returns JSON
     * with how many went and the old generation's use and maximum, in bytes.
     */
    public static String trimIdle(int percent) {
        long[] r = IdleTrim.toShare(percent, DEPLOYMENTS.values(), Isolates::collect);
        JsonObject o = new JsonObject();
        o.addProperty("closed", r[0]);
        o.addProperty("old_used", r[1]);
        o.addProperty("old_max", r[2]);
        return o.toString();
    }

    /**
     * A full collection, as {@code jcmd GC.run} asks for one: {@code System.gc()} is off in
     * workers ({@code -XX:+DisableExplicitGC}, worker/jvm.py), because JPype calls it whenever
     * the process's malloc'd memory grew by 10 MB, and each one stopped every call for 0.3-1.4 s.
     */
    private static void collect() {
        try {
            ManagementFactory.getPlatformMBeanServer().invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"),
                    "gcRun", new Object[] {new String[0]}, new String[] {String[].class.getName()});
        } catch (JMException e) {
            throw new IllegalStateException("no full collection: " + e.getMessage(), e);
        }
    }

    /** In a freshly restored clone: no two clones may share random state. {@code entropy} comes
     * from the clone's getrandom(), never from state that was in the image. */
    public static void afterRestore(long entropy) {
        runtime.afterRestore(entropy);
    }

    public static void undeploy(String key) {
        Deployment d = DEPLOYMENTS.remove(key);
        if (d != null) d.close();
    }
}

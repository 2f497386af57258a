package dev.graalvisor.isolates;

import java.util.List;

/** Runs one invocation at a time; a pooled isolate runs many in sequence. */
interface Isolate extends AutoCloseable {
    /**
     * Runs the function on JSON params; throws {@link Failure} for anything but a result.
     * {@code envJson}: variables set for this call only (JS process.env, Python os.environ) and
     * restored after it; null for none. Java functions have no env hook and ignore it.
     */
    String call(String paramsJson, long timeoutMs, String envJson) throws Failure;

    List<String> drainLogs();

    /** False once a cancel, an exit or a broken state made the isolate unusable. */
    boolean reusable();

    /** Gives the isolate fresh random state after a restore; false if it cannot. */
    boolean reseed();

    @Override
    void close();
}

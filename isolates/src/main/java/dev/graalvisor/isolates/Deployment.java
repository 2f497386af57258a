package dev.graalvisor.isolates;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;

/** One function version loaded in this worker, with its pool of idle isolates. */
abstract class Deployment {
    private static final int MAX_IDLE = 64;
    final Spec spec;
    private final ConcurrentLinkedDeque<Isolate> idle = new ConcurrentLinkedDeque<>();
    private volatile boolean closed;

    Deployment(Spec spec) {
        this.spec = spec;
    }

    /** Creates a ready isolate: code loaded and entrypoint resolved. */
    abstract Isolate newIsolate() throws Failure;

    /** Loads the code once so a syntax error or a missing entrypoint shows at deploy time. */
    void validate() throws Failure {
        Isolate first = newIsolate();
        if (spec.freshPerInvocation()) first.close(); else park(first);
    }

    String invoke(String paramsJson, long timeoutMs) {
        String start = "warm";
        long initNs = 0;
        Isolate isolate = idle.pollFirst();
        if (isolate == null) {
            start = "isolate";
            long t0 = System.nanoTime();
            try {
                isolate = newIsolate();
            } catch (Failure f) {
                return Outcome.failure(f.kind, f.getMessage(), f.type, f.line, start, System.nanoTime() - t0, 0, List.of());
            }
            initNs = System.nanoTime() - t0;
        }
        long t1 = System.nanoTime();
        try {
            String result = isolate.call(paramsJson, timeoutMs);
            long runNs = System.nanoTime() - t1;
            return Outcome.success(result, start, initNs, runNs, isolate.drainLogs());
        } catch (Failure f) {
            long runNs = System.nanoTime() - t1;
            return Outcome.failure(f.kind, f.getMessage(), f.type, f.line, start, initNs, runNs, isolate.drainLogs());
        } finally {
            if (!spec.freshPerInvocation() && isolate.reusable()) park(isolate); else isolate.close();
        }
    }

    private void park(Isolate isolate) {
        if (closed || idle.size() >= MAX_IDLE) {
            isolate.close();
            return;
        }
        idle.offerFirst(isolate);  // LIFO: the most recently used isolate is the hottest
        if (closed && idle.remove(isolate)) isolate.close();
    }

    /**
     * After a snapshot restore every clone holds the same pooled isolates: drop those whose
     * random state cannot be re-seeded from outside, re-seed the rest.
     */
    void afterRestore() {
        for (Isolate isolate : idle) {
            if (!isolate.reseed() && idle.remove(isolate)) isolate.close();
        }
    }

    int idleCount() {
        return idle.size();
    }

    void close() {
        closed = true;
        Isolate i;
        while ((i = idle.pollFirst()) != null) i.close();
    }
}

package dev.graalvisor.isolates;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One function version loaded in this worker, with its pool of idle isolates and, while new
 * isolates are in demand, spares: isolates made in the background, code loaded, never called.
 */
abstract class Deployment {
    private static final int MAX_IDLE = 64;
    private static final long POLL_MS = 20;  // a waiting call looks for a spare this often
    final Spec spec;
    final Runtime runtime;
    /** {@code parkedNs}: when it was last given back (System.nanoTime), for {@link IdleTrim}. */
    record Pooled(Isolate isolate, int generation, long parkedNs) {}
    private final LinkedBlockingDeque<Pooled> idle = new LinkedBlockingDeque<>();
    private final AtomicInteger running = new AtomicInteger();
    // Isolates of this version being made now (by calls, the deploy or the background maker),
    // and how long the last one took: a call waiting for a warm isolate waits about that long.
    private final AtomicInteger creating = new AtomicInteger();
    private volatile long lastMadeNs;
    private final ConcurrentLinkedDeque<Pooled> spares = new ConcurrentLinkedDeque<>();
    // New isolates this version needed lately: as many spares are kept, up to maxSpares().
    private final Demand spawns = new Demand(16);
    private volatile boolean closed;

    Deployment(Runtime runtime, Spec spec) {
        this.runtime = runtime;
        this.spec = spec;
    }

    /** Creates a ready isolate: code loaded and entrypoint resolved. */
    abstract Isolate newIsolate() throws Failure;

    /** The most spares worth holding: none where a new isolate is as cheap as taking one. */
    int maxSpares() {
        return 0;
    }

    /**
     * How long a call that finds no idle isolate, while others of this version are running,
     * waits for one of them to come back before it makes a new one: 0 where making one is cheap.
     */
    long idleWaitMs() {
        return 0;
    }

    /** What making an isolate of this version costs now: what the last one took. */
    long makeCostNs() {
        return lastMadeNs;
    }

    /** Loads the code once so a syntax error or a missing entrypoint shows at deploy time. */
    void validate() throws Failure {
        Isolate first = make();
        if (spec.freshPerInvocation()) first.close(); else park(first);
    }

    /** {@code envJson}: this call's own env (see {@link Isolate#call}), or null. */
    byte[] invoke(String paramsJson, long timeoutMs, String envJson) {
        long t0 = System.nanoTime();
        running.incrementAndGet();
        try {
            return run(paramsJson, timeoutMs, envJson, t0);
        } finally {
            running.decrementAndGet();
        }
    }

    private byte[] run(String paramsJson, long timeoutMs, String envJson, long t0) {
        String start = "warm";
        Isolate isolate = take(idle);
        boolean noted = false;
        if (isolate == null && !spec.freshPerInvocation() && running.get() > 1 && idleWaitMs() > 0) {
            // Another call holds a warm isolate and will give it back in about a call's time,
            // far sooner than a new one is made. awaitIdle notes demand when the wait runs long
            // or it gives up, so spares follow if it lasts.
            noted = true;
            isolate = awaitIdle(timeoutMs);
        }
        // A warm isolate's start is its re-seed in a fresh clone (its first call) or its wait.
        long initNs = System.nanoTime() - t0;
        if (isolate == null) {
            start = "isolate";
            t0 = System.nanoTime();
            if (maxSpares() > 0) {
                if (!noted) noteSpawn();
                isolate = take(spares);
            }
            if (isolate == null) {
                try {
                    isolate = make();
                } catch (Failure f) {
                    return Outcome.failure(f, start, System.nanoTime() - t0, 0, List.of());
                }
            }
            initNs = System.nanoTime() - t0;
        }
        long t1 = System.nanoTime();
        try {
            String result = isolate.call(paramsJson, timeoutMs, envJson);
            long runNs = System.nanoTime() - t1;
            return Outcome.success(result, start, initNs, runNs, isolate.drainLogs());
        } catch (Failure f) {
            long runNs = System.nanoTime() - t1;
            return Outcome.failure(f, start, initNs, runNs, isolate.drainLogs());
        } finally {
            if (!spec.freshPerInvocation() && isolate.reusable()) {
                park(isolate);
            } else {
                // Closing a GraalPy context takes tens of ms: never on the caller's time.
                Isolate done = isolate;
                runtime.closer().execute(done::close);
            }
        }
    }

    private Isolate make() throws Failure {
        creating.incrementAndGet();
        long t0 = System.nanoTime();
        try {
            Isolate isolate = newIsolate();
            runtime.noteIsolateMade();
            return isolate;
        } finally {
            lastMadeNs = System.nanoTime() - t0;
            creating.decrementAndGet();
        }
    }

    private void noteSpawn() {
        spawns.record();
        runtime.wantSpares(this);
    }

    /**
     * An isolate another call gives back, waited for as long as making one would cost now (at
     * least {@link #idleWaitMs()}, at most half the call's timeout) and while another is being
     * made; null at once when a spare is ready (the caller takes it). On a cold worker a GraalPy
     * context took 15-17 s to make beside another call, where that call gave its isolate back
     * within a second: a burst of first calls makes one context, not one per call.
     */
    private Isolate awaitIdle(long timeoutMs) {
        long start = System.nanoTime();
        long limitNs = TimeUnit.MILLISECONDS.toNanos(Math.max(idleWaitMs(), timeoutMs / 2));
        long patienceNs = Math.min(limitNs, Math.max(TimeUnit.MILLISECONDS.toNanos(idleWaitMs()), makeCostNs()));
        // Short calls queued behind a few isolates get one back in a few ms, and a young
        // collection or a compile stall holds them tens of ms: only a wait past half the least
        // patience is demand for more isolates (spares, made in the background).
        long demandAfterNs = TimeUnit.MILLISECONDS.toNanos(idleWaitMs()) / 2;
        boolean noted = false;
        try {
            while (true) {
                Pooled p = idle.pollFirst(POLL_MS, TimeUnit.MILLISECONDS);
                if (p != null) {
                    Isolate isolate = usable(p);
                    if (isolate != null) return isolate;
                }
                long waited = System.nanoTime() - start;
                boolean giveUp = !spares.isEmpty() || waited >= limitNs || (waited >= patienceNs && creating.get() == 0);
                if (!noted && (giveUp || waited >= demandAfterNs)) {
                    noteSpawn();  // the caller takes a spare or makes an isolate: demand either way
                    noted = true;
                }
                if (giveUp) return null;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** Spares wanted now: as many as new isolates were needed in the last few seconds. */
    int spareTarget() {
        return closed ? 0 : Math.min(maxSpares(), spawns.recent());
    }

    /** Makes one spare if fewer are held than wanted; true if it made one. On the refiller's thread. */
    boolean fillSpare() throws Failure {
        if (spares.size() >= spareTarget()) return false;
        Pooled p = new Pooled(make(), runtime.generation(), System.nanoTime());
        spares.offerLast(p);
        if (closed && spares.remove(p)) p.isolate().close();
        return true;
    }

    /** Closes spares past the target (demand gone); true while any are left. */
    boolean trimSpares() {
        Pooled p;
        while (spares.size() > spareTarget() && (p = spares.pollLast()) != null) p.isolate().close();
        return !spares.isEmpty();
    }

    /**
     * An idle or spare isolate, re-seeded first if it was pooled before a snapshot restore (every
     * clone holds the same ones); one whose random state cannot be re-seeded is dropped.
     */
    private Isolate take(java.util.Deque<Pooled> pool) {
        Pooled p;
        while ((p = pool.pollFirst()) != null) {
            Isolate isolate = usable(p);
            if (isolate != null) return isolate;
        }
        return null;
    }

    /** The pooled isolate, re-seeded if a restore came since it was pooled; null (closed) if it cannot be. */
    private Isolate usable(Pooled p) {
        if (p.generation() == runtime.generation() || p.isolate().reseed()) return p.isolate();
        p.isolate().close();
        return null;
    }

    private void park(Isolate isolate) {
        if (closed || idle.size() >= MAX_IDLE) {
            isolate.close();
            return;
        }
        Pooled p = new Pooled(isolate, runtime.generation(), System.nanoTime());
        idle.offerFirst(p);  // LIFO: the most recently used isolate is the hottest
        if (closed && idle.remove(p)) isolate.close();
    }

    int idleCount() {
        return idle.size();
    }

    /** The idle isolates now (a weakly consistent copy), most recently parked first. */
    List<Pooled> idleIsolates() {
        return List.copyOf(idle);
    }

    /** Closes an idle isolate unless a call took it meanwhile; true if it closed it. */
    boolean evict(Pooled p) {
        if (!idle.remove(p)) return false;
        p.isolate().close();
        return true;
    }

    void close() {
        closed = true;
        Pooled p;
        while ((p = idle.pollFirst()) != null) p.isolate().close();
        while ((p = spares.pollFirst()) != null) p.isolate().close();
    }
}

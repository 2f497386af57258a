package dev.graalvisor.isolates;

/**
 * How often something was wanted lately: the times of the last few takes, so a pool of ready
 * things can be sized by what was asked of it, not by a fixed number.
 */
final class Demand {
    static final long WINDOW_NS = 10_000_000_000L;
    private final long[] times;
    private int next;
    private int count;

    Demand(int capacity) {
        this.times = new long[capacity];
    }

    synchronized void record() {
        times[next] = System.nanoTime();
        next = (next + 1) % times.length;
        count = Math.min(count + 1, times.length);
    }

    /** Takes within the last {@link #WINDOW_NS}, at most the capacity. */
    synchronized int recent() {
        long since = System.nanoTime() - WINDOW_NS;
        int n = 0;
        for (int i = 0; i < count; i++) {
            if (times[i] - since > 0) n++;
        }
        return n;
    }
}

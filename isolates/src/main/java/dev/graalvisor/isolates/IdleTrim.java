package dev.graalvisor.isolates;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * Closes idle isolates, those cheap to make again first (JS and Java: a millisecond or less),
 * then the longest idle, until the old generation holds at most a share
 * of its maximum after a full collection. A rolling image's template runs it before its dump:
 * every version it holds kept an idle isolate, a GraalPy one about 10 MB of heap, and a clone of
 * an image holding 144 versions started with 618 MB of its 683 MB old generation in use, so its
 * full collections (1.3-1.9 s, every call stopped) came back to back. A version whose isolate
 * goes stays loaded with its parsed and compiled code (the Deployment keeps its Sources, the
 * shared Engine their call targets): its first call in a clone makes an isolate, no more.
 */
final class IdleTrim {
    // Closed per round, then a collection shows whether that was enough: no isolate's size is guessed.
    private static final int SHARE_DIVISOR = 4;
    // A GraalPy isolate took 1-2 s to make in a clone at the 200-function trace's start, a JS one
    // about a millisecond: a clone should find the expensive ones still there.
    private static final long CHEAP_NS = 50_000_000L;

    private IdleTrim() {}

    private record Idle(Deployment deployment, Deployment.Pooled pooled) {}

    /** Returns {closed, old generation in use after the last collection (bytes), its maximum}. */
    static long[] toShare(int percent, Collection<Deployment> deployments, Runnable collect) {
        MemoryPoolMXBean old = oldGeneration();
        long max = old.getUsage().getMax();
        long limit = max / 100 * percent;
        long closed = 0;
        collect.run();
        while (old.getUsage().getUsed() > limit) {
            List<Idle> idle = new ArrayList<>();
            for (Deployment d : deployments) {
                for (Deployment.Pooled p : d.idleIsolates()) idle.add(new Idle(d, p));
            }
            if (idle.isEmpty()) break;
            idle.sort(Comparator.comparing((Idle i) -> i.deployment().makeCostNs() >= CHEAP_NS)
                    .thenComparingLong(i -> i.pooled().parkedNs()));
            for (Idle i : idle.subList(0, Math.max(1, idle.size() / SHARE_DIVISOR))) {
                if (i.deployment().evict(i.pooled())) closed++;
            }
            collect.run();
        }
        return new long[] {closed, old.getUsage().getUsed(), max};
    }

    /** The heap pool that holds what survives: the one with a usage threshold (eden has none). */
    private static MemoryPoolMXBean oldGeneration() {
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.isUsageThresholdSupported() && pool.getUsage().getMax() > 0) {
                return pool;
            }
        }
        throw new IllegalStateException("no old generation among the heap's memory pools");
    }
}

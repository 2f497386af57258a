package dev.graalvisor.isolates;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Every call's deadline, on one thread that looks at the armed alarms every {@link #TICK_MS} ms
 * while calls run: arming and disarming an alarm is a set's add and remove, which wakes nothing.
 *
 * <p>A {@code ScheduledThreadPoolExecutor} did this before, one task scheduled and cancelled a
 * call. A cancelled task stays in its queue until its delay is out (a call's timeout, 60 s by
 * default), and the executor's thread then wakes to throw it away: under a steady load it woke
 * 0.35 times a call, went on doing so for a minute after the load stopped, and held 30,000 dead
 * tasks after 10 s at 3,000 calls a second (DESIGN.md, the warm path). A deadline fires up to a
 * tick late.
 */
final class Watchdog {
    static final long TICK_MS = 10;
    // Idle this long, the thread parks until the next alarm is armed: calls back to back never
    // pay for waking it, an idle worker does not tick.
    private static final long PARK_AFTER_NS = TimeUnit.SECONDS.toNanos(1);

    /** One call's deadline and what to do when it passes. */
    static final class Alarm {
        final long deadlineNs;
        final Runnable onTimeout;

        private Alarm(long deadlineNs, Runnable onTimeout) {
            this.deadlineNs = deadlineNs;
            this.onTimeout = onTimeout;
        }
    }

    private final Set<Alarm> armed = ConcurrentHashMap.newKeySet();
    private final Thread thread;
    private volatile boolean parked;

    Watchdog(String name) {
        thread = new Thread(this::watch, name);
        thread.setDaemon(true);
        thread.start();
    }

    /** Runs {@code onTimeout} on the watchdog's thread once {@code timeoutMs} has passed, unless disarmed first. */
    Alarm arm(long timeoutMs, Runnable onTimeout) {
        Alarm alarm = new Alarm(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs), onTimeout);
        armed.add(alarm);
        if (parked) LockSupport.unpark(thread);
        return alarm;
    }

    void disarm(Alarm alarm) {
        armed.remove(alarm);
    }

    /** Alarms armed and not yet fired or disarmed. */
    int armedCount() {
        return armed.size();
    }

    private void watch() {
        long busyAt = System.nanoTime();
        while (true) {
            if (armed.isEmpty() && System.nanoTime() - busyAt > PARK_AFTER_NS) {
                parked = true;
                // Checked again after saying so: an alarm armed in between is seen here, or its
                // arm() saw `parked` and unparks this thread (the permit outlives a late park).
                if (armed.isEmpty()) LockSupport.park(this);
                parked = false;
                busyAt = System.nanoTime();
                continue;
            }
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(TICK_MS));
            long now = System.nanoTime();
            if (!armed.isEmpty()) busyAt = now;
            for (Alarm alarm : armed) {
                if (now - alarm.deadlineNs >= 0 && armed.remove(alarm)) {
                    try {
                        alarm.onTimeout.run();
                    } catch (RuntimeException e) {
                        // One alarm's failure must not stop the others from firing.
                        System.err.println("graalvisor watchdog: " + e);
                    }
                }
            }
        }
    }
}

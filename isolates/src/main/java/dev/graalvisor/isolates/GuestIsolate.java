package dev.graalvisor.isolates;

import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.PolyglotException;
import org.graalvm.polyglot.Value;

/** A JS or Python isolate: one polyglot Context holding the function's module and a runner. */
final class GuestIsolate implements Isolate {
    private final Context context;
    private final Value runner;
    private final LogBuffer logs;
    private final Watchdog watchdog;
    private final Executor closer;
    private final BooleanSupplier reseeder;
    private volatile boolean broken;

    GuestIsolate(Context context, BooleanSupplier reseeder, Value runner, LogBuffer logs, Watchdog watchdog,
                 Executor closer) {
        this.context = context;
        this.reseeder = reseeder;
        this.runner = runner;
        this.logs = logs;
        this.watchdog = watchdog;
        this.closer = closer;
    }

    @Override
    public String call(String paramsJson, long timeoutMs, String envJson) throws Failure {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        AtomicBoolean timedOut = new AtomicBoolean();
        Watchdog.Alarm alarm = watchdog.arm(timeoutMs, () -> {
            timedOut.set(true);
            // close(true) cancels guest code wherever it is, even in a tight loop, but blocks
            // until the guest thread lets go: never on the watchdog's one thread.
            closer.execute(() -> context.close(true));
        });
        try {
            // The runner returns [ok, payload, type, line(, value)]: guest errors come back as data, not exceptions.
            Value r = envJson == null ? runner.execute(paramsJson) : runner.execute(paramsJson, envJson);
            if (r.canExecute()) r = drive(r, deadline, timedOut, timeoutMs);  // JS: step the event loop
            String status = r.getArrayElement(0).asString();
            switch (status) {
                case "ok":
                    return r.getArrayElement(1).asString();
                case "exit":
                    broken = true;
                    throw new Failure("exit", "the function called exit (" + r.getArrayElement(1).asString()
                            + "); a function must return a result instead", r.getArrayElement(2).asString(), 0);
                default:
                    // A thrown or rejected value that is not an Error also comes back as JSON.
                    String value = r.getArraySize() > 4 ? r.getArrayElement(4).asString() : null;
                    throw new Failure("error", r.getArrayElement(1).asString(), r.getArrayElement(2).asString(),
                            r.getArrayElement(3).asInt(), value);
            }
        } catch (PolyglotException e) {
            broken = true;
            if (timedOut.get() || e.isCancelled()) throw timeout(timeoutMs);
            if (e.isExit()) {
                throw new Failure("exit", "the function called exit (status " + e.getExitStatus()
                        + "); a function must return a result instead", "Exit", 0);
            }
            if (e.isResourceExhausted()) {
                throw new Failure("error", "resource exhausted: " + e.getMessage(), "ResourceExhausted", 0);
            }
            int line = e.getSourceLocation() != null ? e.getSourceLocation().getStartLine() : 0;
            throw new Failure("error", e.getMessage(), e.isHostException() ? "HostException" : "Error", line);
        } catch (IllegalStateException e) {
            // The watchdog closed the context between two calls into it.
            broken = true;
            if (timedOut.get()) throw timeout(timeoutMs);
            throw new Failure("error", "isolate closed: " + e.getMessage(), "IllegalStateException", 0);
        } finally {
            watchdog.disarm(alarm);
        }
    }

    /**
     * JS: steps the isolate's event loop (prelude.js) until main's Promise settles. A step answers
     * the outcome, or the ms until the next timer: this thread sleeps that long, never past the
     * call's deadline, and steps again (Promise jobs run as each step returns). A function that
     * uses no timers takes one step, as before there was a loop.
     */
    private Value drive(Value step, long deadline, AtomicBoolean timedOut, long timeoutMs) throws Failure {
        Value r = step.execute();
        while (r.isNumber()) {
            double waitMs = r.asDouble();
            if (waitMs > 0) {
                long leftNs = deadline - System.nanoTime();
                try {
                    if (leftNs > 0) TimeUnit.NANOSECONDS.sleep(Math.min((long) Math.ceil(waitMs * 1e6), leftNs));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    broken = true;
                    throw new Failure("error", "interrupted while waiting for a timer", "InterruptedException", 0);
                }
                if (timedOut.get() || deadline - System.nanoTime() <= 0) {
                    broken = true;  // the watchdog closes the context; main's Promise never settled
                    throw timeout(timeoutMs);
                }
            }
            r = step.execute();
        }
        return r;
    }

    private static Failure timeout(long timeoutMs) {
        return new Failure("timeout", "the function ran past its timeout of " + timeoutMs + " ms", null, 0);
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
        return reseeder.getAsBoolean();
    }

    @Override
    public void close() {
        try {
            context.close(true);
        } catch (RuntimeException ignored) {
            // already closed by the watchdog or an exit
        }
    }
}

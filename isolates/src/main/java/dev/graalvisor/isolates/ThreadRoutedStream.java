package dev.graalvisor.isolates;

import java.io.OutputStream;
import java.io.IOException;

/**
 * System.out and System.err for Java functions: bytes written by a thread that runs an
 * invocation go to that invocation's buffer; everything else goes where it went before.
 */
final class ThreadRoutedStream extends OutputStream {
    static final ThreadLocal<LogBuffer> CURRENT = new ThreadLocal<>();
    private final OutputStream fallback;

    ThreadRoutedStream(OutputStream fallback) {
        this.fallback = fallback;
    }

    @Override
    public void write(int b) throws IOException {
        LogBuffer buf = CURRENT.get();
        if (buf != null) buf.write(b); else fallback.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        LogBuffer buf = CURRENT.get();
        if (buf != null) buf.write(b, off, len); else fallback.write(b, off, len);
    }

    @Override
    public void flush() throws IOException {
        if (CURRENT.get() == null) fallback.flush();
    }
}

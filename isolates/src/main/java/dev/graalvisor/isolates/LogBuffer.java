package dev.graalvisor.isolates;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** What one isolate printed during one invocation, split into lines. */
final class LogBuffer extends ByteArrayOutputStream {
    private static final int MAX_BYTES = 64 * 1024;

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        // A chatty function must not grow the worker's heap without bound.
        int room = MAX_BYTES - count;
        if (room > 0) super.write(b, off, Math.min(len, room));
    }

    @Override
    public synchronized void write(int b) {
        if (count < MAX_BYTES) super.write(b);
    }

    synchronized List<String> drainLines() {
        List<String> lines = new ArrayList<>();
        if (count == 0) return lines;
        String text = toString(StandardCharsets.UTF_8);
        reset();
        for (String line : text.split("\n", -1)) lines.add(line);
        if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) lines.remove(lines.size() - 1);
        return lines;
    }
}

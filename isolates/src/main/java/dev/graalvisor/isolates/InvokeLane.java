package dev.graalvisor.isolates;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The worker's second connection to the gateway, read and answered by Java alone: invocations
 * only, so a warm call crosses no Python, no GIL and no JPype in the worker. Frames as on the
 * Python connection (graalvisor/protocol/frames.py): a 4-byte word (kind in the top two bits,
 * length below), a 4-byte meta length, the meta (JSON), the payload (the params in, the result
 * out). Its first frame is a hello naming the worker's token with {@code "lane": true}.
 *
 * <p>Leader/followers, as the Python side: {@code threads} threads take turns reading, and the
 * one that read a request runs it, so a call is never handed from thread to thread. Everything
 * else (deploys, parking, describing) stays on the Python connection.
 */
final class InvokeLane {
    private static final int REQUEST = 1;
    private static final int REPLY = 2;
    private static final int KIND_SHIFT = 30;
    private static final int LENGTH_MASK = (1 << KIND_SHIFT) - 1;
    private static final int MAX_FRAME = 256 * 1024 * 1024;
    private static final int READ_SIZE = 64 * 1024;
    // A guest's recursion runs on the thread that calls it: as deep a stack as the Python
    // threads that called guests before (the 8 MB a pthread gets here), not the JVM's 1 MB, on
    // which a GraalPy json.loads of a deeply nested document ran out of recursion.
    private static final long STACK_BYTES = 8L * 1024 * 1024;

    private final SocketChannel channel;
    private final DataInputStream in;
    private final ReentrantLock readLock = new ReentrantLock();
    private final ReentrantLock sendLock = new ReentrantLock();
    private final List<Thread> threads = new ArrayList<>();

    private InvokeLane(SocketChannel channel) {
        this.channel = channel;
        // One read takes whatever has arrived, up to READ_SIZE: a request is one system call.
        this.in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(channel), READ_SIZE));
    }

    /** Connects to the gateway's socket, says hello and starts the readers. */
    static InvokeLane open(String socketPath, String token, int threadCount) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socketPath));
        InvokeLane lane = new InvokeLane(channel);
        JsonObject hello = new JsonObject();
        hello.addProperty("op", "hello");
        hello.addProperty("token", token);
        hello.addProperty("lane", true);
        byte[] meta = hello.toString().getBytes(StandardCharsets.UTF_8);
        lane.send(header(meta.length, 0), meta, meta, 0, 0);  // no payload
        for (int i = 0; i < threadCount; i++) {
            Thread t = new Thread(null, lane::follow, "gv-lane-" + i, STACK_BYTES);
            t.setDaemon(true);
            lane.threads.add(t);
            t.start();
        }
        return lane;
    }

    /** Closes the connection and waits for the readers to stop (before a CRIU dump: no socket
     * may be open, and no thread of the lane may be left blocked in a read). */
    void close() throws IOException, InterruptedException {
        channel.close();  // a thread blocked in a read gets AsynchronousCloseException
        for (Thread t : threads) t.join(5000);
    }

    private void follow() {
        while (true) {
            byte[][] request;
            readLock.lock();
            try {
                request = read();
            } catch (EOFException | ClosedChannelException e) {
                return;  // the gateway went, or the worker is parking
            } catch (IOException | RuntimeException e) {
                System.err.println("graalvisor: the invoke lane broke: " + e);
                closeQuietly();
                return;
            } finally {
                readLock.unlock();
            }
            long receivedNs = System.nanoTime();
            try {
                answer(request[0], request[1], receivedNs);
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                System.err.println("graalvisor: an invoke reply could not be written: " + e);
                closeQuietly();
                return;
            }
        }
    }

    /** The next request's meta and payload. */
    private byte[][] read() throws IOException {
        int word = in.readInt();
        int kind = word >>> KIND_SHIFT, length = word & LENGTH_MASK;
        if (kind != REQUEST) throw new IOException("expected a request frame, got one of kind " + kind);
        if (length > MAX_FRAME || length < 4) throw new IOException("a request frame of " + length + " bytes");
        int metaLength = in.readInt();
        if (metaLength < 0 || metaLength > length - 4) throw new IOException("a meta of " + metaLength + " bytes");
        byte[] meta = in.readNBytes(metaLength);
        byte[] payload = in.readNBytes(length - 4 - metaLength);
        if (meta.length != metaLength || payload.length != length - 4 - metaLength) throw new EOFException();
        return new byte[][] {meta, payload};
    }

    private void answer(byte[] metaBytes, byte[] params, long receivedNs) throws IOException {
        long id = -1;
        byte[] outcome;
        long callNs = 0;
        try {
            JsonObject meta = JsonParser.parseString(new String(metaBytes, StandardCharsets.UTF_8)).getAsJsonObject();
            JsonElement idField = meta.get("id");
            if (idField != null && !idField.isJsonNull()) id = idField.getAsLong();
            String op = meta.has("op") ? meta.get("op").getAsString() : null;
            if (!"invoke".equals(op)) {
                outcome = Outcome.failure("internal", "the invoke lane takes only invoke requests, not " + op);
            } else {
                JsonElement env = meta.get("env");
                String envJson = env == null || env.isJsonNull() ? null : env.toString();
                long t0 = System.nanoTime();
                outcome = Isolates.invoke(meta.get("key").getAsString(), params, meta.get("timeout_ms").getAsLong(), envJson);
                callNs = System.nanoTime() - t0;
            }
        } catch (RuntimeException | Error e) {  // a bad request or a bug here: answer, never leave the caller waiting
            outcome = Outcome.failure("internal", "invoke lane: " + e);
        }
        if (id < 0) return;  // no id: the gateway wants no answer
        reply(outcome, id, callNs, receivedNs);
    }

    /** Java's outcome (meta length, meta, result) with the request id and this side's times put
     * at the front of its meta, as graalvisor/worker/replies.py does on the Python connection. */
    private void reply(byte[] outcome, long id, long callNs, long receivedNs) throws IOException {
        int javaMetaLength = ByteBuffer.wrap(outcome).getInt(0);
        String head = "{\"id\":" + id + ",\"call_ns\":" + callNs + ",\"worker_ns\":" + (System.nanoTime() - receivedNs)
                + (javaMetaLength > 2 ? "," : "");
        byte[] headBytes = head.getBytes(StandardCharsets.UTF_8);
        // Java's meta less its opening brace, then the result: one slice of the outcome.
        int rest = outcome.length - 4 - 1;
        ByteBuffer front = header(headBytes.length + javaMetaLength - 1, rest - (javaMetaLength - 1));
        send(front, headBytes, outcome, 5, rest);
    }

    /** The frame's word and meta length, for a meta of {@code metaLength} and a payload of {@code payloadLength}. */
    private static ByteBuffer header(int metaLength, int payloadLength) {
        return ByteBuffer.allocate(8).putInt(REPLY << KIND_SHIFT | (4 + metaLength + payloadLength)).putInt(metaLength).flip();
    }

    private void send(ByteBuffer front, byte[] meta, byte[] tail, int offset, int length) throws IOException {
        ByteBuffer[] parts = {front, ByteBuffer.wrap(meta), ByteBuffer.wrap(tail, offset, length)};
        sendLock.lock();
        try {
            long left = front.remaining() + meta.length + (long) length;
            while (left > 0) left -= channel.write(parts);  // one writev, as a rule
        } finally {
            sendLock.unlock();
        }
    }

    private void closeQuietly() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing: nothing more to say
        }
    }
}

package suite;

import com.google.gson.JsonObject;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/** Compression: n KiB of generated text deflated with java.util.zip, then inflated and checked. */
public final class Compress {
    private static final String[] WORDS = {"lorem", "ipsum", "dolor", "sit", "amet", "serverless", "function",
        "isolate", "graal", "polyglot", "snapshot", "worker", "trace", "azure", "cold", "warm"};

    static String text(int size, Gen g) {
        StringBuilder b = new StringBuilder(size + 16);
        while (b.length() < size) {
            if (b.length() > 0) {
                b.append(' ');
            }
            b.append(WORDS[(int) (g.next() % WORDS.length)]);
        }
        b.setLength(size);
        return b.toString();
    }

    public static JsonObject main(JsonObject args) throws DataFormatException {
        int n = Gen.intArg(args, "n", 64);
        byte[] data = text(n * 1024, Gen.of(args)).getBytes(StandardCharsets.US_ASCII);
        Deflater deflater = new Deflater(6);
        deflater.setInput(data);
        deflater.finish();
        ByteArrayOutputStream packed = new ByteArrayOutputStream();
        byte[] buf = new byte[65536];
        while (!deflater.finished()) {
            packed.write(buf, 0, deflater.deflate(buf));
        }
        deflater.end();
        byte[] compressed = packed.toByteArray();
        Inflater inflater = new Inflater();
        inflater.setInput(compressed);
        byte[] restored = new byte[data.length];
        int got = 0;
        while (!inflater.finished() && got < restored.length) {
            got += inflater.inflate(restored, got, restored.length - got);
        }
        inflater.end();
        JsonObject out = new JsonObject();
        out.addProperty("in", data.length);
        out.addProperty("out", compressed.length);
        out.addProperty("ok", got == data.length && Arrays.equals(restored, data));
        out.addProperty("codec", "deflate");
        return out;
    }
}

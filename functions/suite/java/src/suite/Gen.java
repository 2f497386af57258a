package suite;

import com.google.gson.JsonObject;

/** The shared pseudo-random source (minstd) and argument helpers of the suite. */
final class Gen {
    static final long M = 2147483647L;
    private long s;

    Gen(long seed) {
        s = seed % (M - 1) + 1;
    }

    static Gen of(JsonObject args) {
        return new Gen(intArg(args, "seed", 7));
    }

    long next() {
        s = s * 48271L % M;
        return s;
    }

    static int intArg(JsonObject args, String key, int dflt) {
        return args != null && args.has(key) ? args.get(key).getAsInt() : dflt;
    }

}

package dev.graalvisor.isolates;

/** A function that did not produce a result: kind is error | timeout | exit | load. */
final class Failure extends Exception {
    final String kind;
    final String type;
    final int line;

    Failure(String kind, String message, String type, int line) {
        super(message, null, false, false);
        this.kind = kind;
        this.type = type;
        this.line = line;
    }
}

package dev.graalvisor.isolates;

/** A function that did not produce a result: kind is error | timeout | exit | load. */
final class Failure extends Exception {
    final String kind;
    final String type;
    final int line;
    final String value;  // JSON of a thrown or rejected value that is not an Error; else null

    Failure(String kind, String message, String type, int line) {
        this(kind, message, type, line, null);
    }

    Failure(String kind, String message, String type, int line, String value) {
        super(message, null, false, false);
        this.kind = kind;
        this.type = type;
        this.line = line;
        this.value = value;
    }
}

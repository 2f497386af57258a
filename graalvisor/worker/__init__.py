"""The worker process: one JVM (through JPype) hosting many isolates of many functions."""

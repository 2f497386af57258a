"""graalvisor: a polyglot function-hosting daemon on GraalVM isolates."""

__version__ = "0.1.0"

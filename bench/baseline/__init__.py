"""Process-per-instance baseline: the OpenWhisk container model without the containers.

Every function instance is its own runtime process (node, CPython, a JVM) serving one invocation
at a time, kept warm for a keep-alive period after its last use and started on demand.
"""

# graalvisor in a container. Not built or tested in this project's CI (no Docker engine there).
# CRIU needs extra privileges: run with --privileged (or CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE,
# and an unconfined seccomp profile); without them the daemon boots workers the slow way.
FROM eclipse-temurin:25-jdk AS jdk

FROM debian:trixie
COPY --from=jdk /opt/java/openjdk /opt/java/openjdk
ENV JAVA_HOME=/opt/java/openjdk
RUN apt-get update && apt-get install -y --no-install-recommends \
        python3 python3-venv maven make criu util-linux ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/graalvisor
COPY . .
# Debian 13's criu is 4.1: use it instead of building one (the Makefile's CRIU target is
# satisfied by linking it into the cache).
RUN mkdir -p .cache/criu/bin && ln -s /usr/sbin/criu .cache/criu/bin/criu \
    && touch -r scripts/install-criu.sh .cache/criu/bin/criu \
    && make setup
EXPOSE 8080
CMD [".venv/bin/graalvisor", "serve", "--host", "0.0.0.0", "--port", "8080", "--deploy", "functions"]

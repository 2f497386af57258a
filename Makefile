# `make run` and `make test` do every set-up step they need, once: each target below is a
# file, rebuilt only when what it is made from changes.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
JAVA_HOME ?= $(firstword $(wildcard /usr/lib/jvm/temurin-25*) $(wildcard /usr/lib/jvm/*-25-*))
export JAVA_HOME
ISOLATES_JAR := isolates/target/isolates-0.1.0.jar
EXAMPLES_JAR := functions/java/examples.jar
CRIU := .cache/criu/bin/criu
# The official OpenWhisk client (npm `openwhisk`) the tests drive graalvisor with, and an npm
# package they zip into an action's node_modules.
OW_CLIENT := tests/openwhisk/node_modules/.installed
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: all setup build run test lint bench bench-micro bench-coldstart bench-coldcall clean

all: setup

setup: $(VENV)/.installed $(ISOLATES_JAR) $(EXAMPLES_JAR) $(CRIU)

build: $(ISOLATES_JAR) $(EXAMPLES_JAR)

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,bench]'
	@touch $@

$(ISOLATES_JAR): isolates/pom.xml $(shell find isolates/src -type f 2>/dev/null)
	@test -n "$(JAVA_HOME)" || { echo "error: no JDK 25 in /usr/lib/jvm; set JAVA_HOME to a JDK 25 (Temurin 25)"; exit 1; }
	cd isolates && mvn -q -B package -DskipTests
	@touch $@

$(EXAMPLES_JAR): $(ISOLATES_JAR) $(shell find functions/java/src -name '*.java' 2>/dev/null)
	rm -rf build/examples-classes && mkdir -p build/examples-classes
	$(JAVA_HOME)/bin/javac --release 21 -d build/examples-classes \
		-cp "$$(ls isolates/target/lib/gson-*.jar)" $$(find functions/java/src -name '*.java')
	$(JAVA_HOME)/bin/jar --create --file $@ -C build/examples-classes .

$(OW_CLIENT): tests/openwhisk/package.json tests/openwhisk/package-lock.json
	@command -v npm >/dev/null || { echo "error: the tests need Node.js and npm (apt install nodejs npm)"; exit 1; }
	cd tests/openwhisk && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# CRIU is optional at run time (workers then boot the slow way), so a failed install warns.
$(CRIU): scripts/install-criu.sh
	@bash scripts/install-criu.sh >/dev/null || echo "warning: CRIU not installed (needs root and apt); workers will boot without snapshots"

run: setup
	$(VENV)/bin/graalvisor serve --host $(HOST) --port $(PORT) --deploy functions

test: setup $(OW_CLIENT)
	$(VENV)/bin/pytest -p no:faulthandler -q tests

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check graalvisor tests bench
	$(VENV)/bin/mypy --strict graalvisor

bench: setup
	$(PY) -m bench.trace_bench --minutes 5 --report

bench-micro: setup
	$(PY) -m bench.micro

bench-coldstart: setup
	$(PY) -m bench.coldstart

bench-coldcall: setup
	$(PY) -m bench.coldcall

clean:
	rm -rf isolates/target build $(EXAMPLES_JAR)

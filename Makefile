# healthscore — the two set-up commands are `make run` and `make test`.
# Tests and binaries share the dev profile (dependencies optimised), so
# polars is compiled once for both.

CARGO ?= cargo
VENV  := .venv
PY    := $(VENV)/bin/python
AS_OF ?= 2026-11-24
PROTOC := /usr/bin/protoc
PROTO_INCLUDES := /usr/include/google/protobuf/any.proto

.PHONY: run test build venv java bench-range sample-data fmt lint clean-out

# The Spark Connect client's protocol is compiled from Spark's .proto files
# at build time: the build needs protoc and protobuf's own .proto files
# (Debian's protobuf-compiler and libprotobuf-dev, below).
build: $(PROTOC) $(PROTO_INCLUDES)
	$(CARGO) build

run: build
	$(CARGO) run --quiet -- run --pipeline pipelines/default.toml --input sample_data --output out --as-of $(AS_OF)

# A Python venv with the independent readers (pyarrow, DuckDB) the tests use,
# moto_server, the S3 server of the object-store tests, and pyspark, whose
# Spark Connect server the Spark engine's tests start (it needs Java 17).
$(VENV)/.ready: tests/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

# Azurite, the Azure Blob server of the object-store tests, installed under
# the repository (gitignored) with the machine's npm; tests start it on
# 127.0.0.1 with telemetry off.
TOOLS := .tools
AZURITE_VERSION := 3.35.0
$(TOOLS)/.azurite-$(AZURITE_VERSION):
	npm install --prefix $(TOOLS) --no-audit --no-fund --loglevel=error azurite@$(AZURITE_VERSION)
	touch $@

# Debian packages the tests run: Chromium (the report pages are rendered
# headless and checked for requests), `script` from bsdutils (a real
# terminal for the progress line) and `kill` from procps (signals to a
# running job). Each is installed when its program is missing, as root or
# with `sudo -n`; a target that cannot install its package fails naming it.
DEBIAN_INSTALL := env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends
define debian_package
$(1):
	@if [ "$$$$(id -u)" = 0 ]; then sudo=; \
	elif sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else echo "error: the tests need Debian's package '$(2)' ($(1)); run as root: $(DEBIAN_INSTALL) $(2)" >&2; exit 1; fi; \
	echo "installing Debian's package '$(2)' for the tests"; \
	$$$$sudo $(DEBIAN_INSTALL) $(2) >/dev/null || { $$$$sudo apt-get update -qq && $$$$sudo $(DEBIAN_INSTALL) $(2) >/dev/null; } \
	|| { echo "error: could not install Debian's package '$(2)'; the tests need $(1)" >&2; exit 1; }; \
	test -e $(1) || { echo "error: Debian's package '$(2)' is installed but $(1) is missing" >&2; exit 1; }
endef
$(eval $(call debian_package,$(PROTOC),protobuf-compiler))
$(eval $(call debian_package,$(PROTO_INCLUDES),libprotobuf-dev))
CHROMIUM := /usr/bin/chromium
$(eval $(call debian_package,$(CHROMIUM),chromium))
$(eval $(call debian_package,/usr/bin/script,bsdutils))
$(eval $(call debian_package,/bin/kill,procps))

# Java runs the Spark Connect server of the Spark engine's tests.
java:
	@java -version >/dev/null 2>&1 || { echo "error: the Spark engine's tests need Java 17 (java on PATH); install openjdk-17-jre-headless" >&2; exit 1; }

venv: $(VENV)/.ready $(TOOLS)/.azurite-$(AZURITE_VERSION) $(PROTOC) $(PROTO_INCLUDES) $(CHROMIUM) /usr/bin/script /bin/kill java

test: venv
	HEALTHSCORE_TEST_PYTHON=$(abspath $(PY)) $(CARGO) test --workspace -- --test-threads 2

# Regenerates the committed sample data (deterministic for the seed).
sample-data: build venv
	rm -rf sample_data
	$(CARGO) run --quiet -- generate --accounts 2000 --seed 7 --as-of $(AS_OF) --out sample_data
	$(PY) docs/examples/make_csm_pulse.py sample_data $(AS_OF)

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean-out:
	rm -rf out

# Benchmark (SPEC §9, issue 7; figures and method in docs/performance.md).
# `make bench` generates the 1M workload once into bench/cache/1m, then runs
# `healthscore run`, bench/default.sql on DuckDB and a bare column scan,
# alternating, BENCH_RUNS times each, checks that healthscore and DuckDB wrote
# the same scores cell by cell, and reports wall time, rows/s, peak RSS and
# the ratios. `make bench-10m` generates bench/cache/10m once and runs
# healthscore on it once (wall time, peak RSS). Results: bench/cache/results-*.json.
BENCH_RUNS ?= 3
.PHONY: bench bench-10m

bench: build venv
	$(PY) bench/run_bench.py --workload 1m --runs $(BENCH_RUNS) --as-of $(AS_OF)

# A range of dates against one date (100k accounts; 90 dates of 1M too
# when BENCH_1M=1): bench/run_range.py.
bench-range: build venv
	$(PY) bench/run_range.py --as-of $(AS_OF) $(if $(BENCH_1M),--with-1m)

bench-10m: build venv
	$(PY) bench/run_bench.py --workload 10m --as-of $(AS_OF)

# User-facing targets. `make demo` and `make test` install what is missing first.
BUILD_DIR ?= build
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

SAN_DIR ?= build-sanitize
# The sanitizer build uses clang, which also builds the libFuzzer targets.
SAN_CXX ?= clang++
FUZZ_SECONDS ?= 300

.PHONY: all deps build test unit demo demo-cluster demo-aws bench soak soak-cluster clean sanitize sanitize-build fuzz

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -G "$(GENERATOR)"

build: $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Every test, then the unit tests and the shutdown, crash and fault tests
# again on the AddressSanitizer + UndefinedBehaviorSanitizer build, and each
# fuzz target for 15 s from its corpus.
test: deps
	@$(MAKE) --no-print-directory build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600 -j $(JOBS)
	@$(MAKE) --no-print-directory sanitize-build
	cd $(SAN_DIR) && ctest --output-on-failure --timeout 900 -L sanitize

# The sanitizer build (its own folder), and the whole suite on it.
$(SAN_DIR)/CMakeCache.txt:
	cmake -S . -B $(SAN_DIR) -G "$(GENERATOR)" -DCMAKE_CXX_COMPILER=$(SAN_CXX) \
	  -DHEARTH_SANITIZE=ON -DHEARTH_FUZZ=ON

sanitize-build: $(SAN_DIR)/CMakeCache.txt
	cmake --build $(SAN_DIR) -j $(JOBS)

sanitize: deps
	@$(MAKE) --no-print-directory sanitize-build
	cd $(SAN_DIR) && ctest --output-on-failure --timeout 900

# Every fuzz target for FUZZ_SECONDS (300) each; see tests/fuzz/README.md.
fuzz: deps
	@$(MAKE) --no-print-directory sanitize-build
	./tests/fuzz/run.sh $(SAN_DIR)/bin $(FUZZ_SECONDS)

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit

demo: deps
	@$(MAKE) --no-print-directory build
	@./scripts/demo.sh

# The shopping cart on three nodes of one cluster, on this machine.
demo-cluster: deps
	@$(MAKE) --no-print-directory build
	@./scripts/demo-cluster.sh

# The shopping cart as deployed on AWS (Kinesis in and out, checkpoints in S3),
# on this machine: kinesalite and s3rver stand in for AWS.
demo-aws: deps
	@$(MAKE) --no-print-directory build
	@./scripts/demo-aws.sh

# Benchmarks on a Release build of their own (build-release/); see bench/README.md.
bench: deps
	@./bench/install-deps.sh
	cmake -S . -B build-release -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=Release
	cmake --build build-release -j $(JOBS)
	@./bench/run.sh build-release

# A longer smoke verifier: 200,000 commands, 12 SIGKILLs of the node, 3 of the function server.
soak: deps
	@$(MAKE) --no-print-directory build
	SMOKE_COMMANDS=200000 SMOKE_KILLS=12 SMOKE_FUNCTION_KILLS=3 SMOKE_TIMEOUT_MS=900000 \
	  HEARTH_NODE=$(CURDIR)/$(BUILD_DIR)/bin/hearth-node \
	  node --test --test-reporter=spec tests/integration/smoke_verifier.test.js

# 100 fresh four-node clusters, each read through every node's admin API
# (tests/integration/cluster_rounds.test.js; `make test` runs 2). Add
# HEARTH_NODE_ARGS="--set scheduler.threads=1" to run them with one CAF worker.
soak-cluster: deps
	@$(MAKE) --no-print-directory build
	CLUSTER_ROUNDS=100 HEARTH_NODE=$(CURDIR)/$(BUILD_DIR)/bin/hearth-node \
	  node --test --test-reporter=spec tests/integration/cluster_rounds.test.js

clean:
	rm -rf $(BUILD_DIR) build-release $(SAN_DIR)

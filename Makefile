# User-facing targets. `make demo` and `make test` install what is missing first.
BUILD_DIR ?= build
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build test unit demo bench clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -G "$(GENERATOR)"

build: $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: deps
	@$(MAKE) --no-print-directory build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit

demo: deps
	@$(MAKE) --no-print-directory build
	@./scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory build
	@./bench/run.sh

clean:
	rm -rf $(BUILD_DIR)

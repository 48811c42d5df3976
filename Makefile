# The two commands of the README: `make run` and `make test` (and `make
# install` to put `helix` on PATH). Everything builds out of tree with CMake;
# this file only sequences steps.
BUILD       ?= build
BUILD_ASAN  ?= build-asan
BUILD_FUZZ  ?= build-fuzz
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 60
HELIX_ARGS  ?=
PREFIX      ?= /usr/local

.PHONY: all deps build run test test-asan bench fuzz install clean

all: build

deps:
	@bash scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/helix serve $(HELIX_ARGS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DHX_SANITIZE=ON
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(BUILD_ASAN) --output-on-failure -j $(JOBS)

# $(PREFIX)/bin/helix and $(PREFIX)/share/helix/helix.yaml (DESTDIR is honoured).
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

bench: build
	./$(BUILD)/helix bench all --json $(BUILD)/bench.json

# Each fuzz target runs FUZZ_SECONDS under ASan+UBSan, starting from its seed corpus.
fuzz: deps
	CC=clang cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=Debug -DHX_FUZZ=ON
	cmake --build $(BUILD_FUZZ) -j $(JOBS)
	@set -e; for t in $(BUILD_FUZZ)/fuzz_*; do \
	  name=$$(basename $$t); corpus=tests/fuzz/corpus/$${name#fuzz_}; \
	  work=$(BUILD_FUZZ)/corpus-$${name#fuzz_}; mkdir -p $$work; \
	  echo "== $$name for $(FUZZ_SECONDS)s"; \
	  $$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $$work $$corpus; \
	done

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)

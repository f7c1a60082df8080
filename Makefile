# lumamba — the commands a new user needs (see README.md).
#   make demo   install missing Debian packages, build (Release), run the demo
#   make test   same set-up, then the whole test suite
#   make deps | build | sanitize | fuzz | clean
BUILD_DIR ?= build
JOBS ?= 2
FUZZ_RUNS ?= 1000000
CMAKE_FLAGS ?=
DEMO_DIR ?= $(BUILD_DIR)/demo
GOLDEN := tests/fixtures/golden

.PHONY: all deps build test demo sanitize fuzz clean

all: build

deps:
	./scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

demo: build
	./scripts/demo.sh $(BUILD_DIR) $(DEMO_DIR)

# Debug build with AddressSanitizer + UndefinedBehaviorSanitizer, then the fast tests
# (docs/reliability.md). LibTorch itself is not instrumented; leaks are not checked (its static
# caches would be reported).
sanitize: deps
	cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DLUMAMBA_SANITIZE_ADDRESS=ON -DLUMAMBA_SANITIZE_UNDEFINED=ON \
	  -DLUMAMBA_TCMALLOC=OFF -DLUMAMBA_PYTHON=OFF $(CMAKE_FLAGS)
	cmake --build build-sanitize -j$(JOBS)
	cd build-sanitize && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest -L fast --output-on-failure -j$(JOBS)

fuzz:
	LUMAMBA_DEPS_FUZZ=1 ./scripts/install-deps.sh
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DLUMAMBA_BUILD_FUZZ=ON -DLUMAMBA_BUILD_TESTS=OFF \
	    -DLUMAMBA_PYTHON=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build-fuzz --target fuzz_safetensors fuzz_edf fuzz_brainvision fuzz_eeglab fuzz_tuh_csv -j$(JOBS)
	for t in safetensors edf brainvision eeglab tuh_csv; do \
	  extra=""; asan=""; \
	  if [ $$t = eeglab ]; then extra="-malloc_limit_mb=65536 -rss_limit_mb=8000 -timeout=120"; \
	    asan="allocator_may_return_null=1"; fi; \
	  mkdir -p fuzz/corpus-run/$$t && \
	  ASAN_OPTIONS=$$asan ./build-fuzz/fuzz/fuzz_$$t fuzz/corpus-run/$$t fuzz/corpus/$$t \
	      -runs=$(FUZZ_RUNS) -max_len=4096 -print_final_stats=1 $$extra || exit 1; \
	done

clean:
	rm -rf $(BUILD_DIR) build-fuzz

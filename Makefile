# WVA-C++ entry points. `make demo` and `make test` work on a fresh Debian 12 machine: they
# install what is missing (scripts/setup.sh), build, and run.
PRESET ?= release
BUILD_DIR := out/$(PRESET)
JOBS ?= 2

.PHONY: setup configure build test test-unit test-asan demo bench fuzz clean testenv-build e2e-demo

setup:
	@bash scripts/setup.sh

configure: setup
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j$(JOBS)
	@mkdir -p build && ln -sfn ../$(BUILD_DIR)/src/cmd/wva build/wva

# Every test: unit, integration (real kube-apiserver, real Prometheus) and e2e, plus the fuzz
# corpora as regression tests. Non-zero exit on any failure.
test:
	@PRESET=$(PRESET) JOBS=$(JOBS) bash scripts/test.sh

test-unit: build
	@cd $(BUILD_DIR) && ctest -L unit --output-on-failure -j$(JOBS)

test-asan:
	@PRESET=asan JOBS=$(JOBS) bash scripts/test.sh

demo: build
	@./build/wva simulate

# The closed loop with a real HPA, KWOK pods and emulated vLLM load, to watch (README "Try it
# locally"). Builds the test environment's servers on first use (cached).
e2e-demo: build
	@bash scripts/e2e-demo.sh ./build/wva

bench: build
	@bash scripts/bench.sh

fuzz: setup
	@bash scripts/fuzz.sh

clean:
	rm -rf out build

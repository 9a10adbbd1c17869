# WVA-C++ entry points. `make demo` and `make test` work on a fresh Debian 12 machine: they
# install what is missing (scripts/setup.sh), build, and run.
PRESET ?= release
BUILD_DIR := out/$(PRESET)
JOBS ?= 2

.PHONY: setup configure build wva test test-unit test-asan demo bench bench-decisions fuzz clean \
	testenv-build e2e-demo \
	image deploy format format-check test-tsan-threads

setup:
	@bash scripts/setup.sh

configure: setup
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j$(JOBS)
	@mkdir -p build && ln -sfn ../$(BUILD_DIR)/src/cmd/wva build/wva

# Only the `wva` binary (no tests, benchmarks or fuzzers): what `make demo` needs.
wva: configure
	@cmake --build $(BUILD_DIR) -j$(JOBS) --target wva
	@mkdir -p build && ln -sfn ../$(BUILD_DIR)/src/cmd/wva build/wva

# Every test: unit, integration (real kube-apiserver, real Prometheus) and e2e, plus the fuzz
# corpora as regression tests. Non-zero exit on any failure.
test:
	@PRESET=$(PRESET) JOBS=$(JOBS) bash scripts/test.sh

test-unit: build
	@cd $(BUILD_DIR) && ctest -L unit --output-on-failure -j$(JOBS)

test-asan:
	@PRESET=asan JOBS=$(JOBS) bash scripts/test.sh

# The tests that exercise threads (informers, work queue, leader election, kube integration,
# HTTP, emulator server, concurrent status writes) under TSan; a data race fails the run.
test-tsan-threads:
	@JOBS=$(JOBS) bash scripts/tsan_threads.sh

# The first screen: the built-in example (an hour of diurnal load on a cheap L40S and a fast H100
# variant) under the SLO policy, the saturation rule, llm-d's two KEDA recipes and a classic HPA,
# next to the cheapest static fleet in hindsight. Outputs in wva-sim-out/ (compare.html).
demo: wva
	@./build/wva simulate --compare wva-slo,wva,keda-token,keda-slo,hpa-kv:0.7 --search-static

# The closed loop with a real HPA, KWOK pods and emulated vLLM load, to watch (README "Try it
# locally"). Builds the test environment's servers on first use (cached).
e2e-demo: build
	@bash scripts/e2e-demo.sh ./build/wva

bench: build
	@bash scripts/bench.sh

# Every scaling policy against the best static fleet and the oracle on >= 10 seeded trace shapes
# (+ the Azure traces when WVA_TRACES_DIR has them); rewrites the table in docs/decisions.md.
bench-decisions: wva
	@python3 bench/decisions.py --wva ./build/wva --jobs $(JOBS)

fuzz: setup
	@bash scripts/fuzz.sh

# The controller image (Dockerfile) with the first container engine found: docker, podman or
# buildah. IMG names it; push it with the same engine (docs/install.md).
IMG ?= ghcr.io/your-org/wva-cpp:v0.1.0
image:
	@IMG='$(IMG)' bash scripts/image.sh

# Installs the controller with kubectl's built-in kustomize and IMG as its image (no standalone
# kustomize needed). OVERLAY=prometheus-operator adds the ServiceMonitor and the alert rules.
OVERLAY ?=
KUBECTL ?= kubectl
deploy:
	@IMG='$(IMG)' OVERLAY='$(OVERLAY)' KUBECTL='$(KUBECTL)' bash scripts/deploy.sh apply

# clang-format 14 and braces on every control statement (.clang-format, .clang-tidy). FILES=
# limits either to some files. `make test` runs the check.
format: setup
	@JOBS=$(JOBS) bash scripts/format.sh $(FILES)

format-check: setup
	@JOBS=$(JOBS) bash scripts/format.sh --check $(FILES)

clean:
	rm -rf out build

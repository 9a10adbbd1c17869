# syntax=docker/dockerfile:1
# WVA-C++ controller image: `docker build -t ghcr.io/<org>/wva-cpp:<tag> .`
# `make image` builds it with docker, podman or buildah (scripts/image.sh); docs/install.md says
# how to push it and set it in the manifests. Multi-stage: a Debian 12 builder with the same
# packages as scripts/setup.sh, then a slim runtime with only the shared libraries `wva` links
# against, running as non-root 65532; nothing is written to the root filesystem, so it runs
# with readOnlyRootFilesystem.

FROM debian:bookworm AS builder
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
# scripts/setup.sh is the single list of build packages; run it first so this layer is cached
# independently of source changes.
COPY scripts/setup.sh scripts/setup.sh
RUN bash scripts/setup.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# Only the binary: tests, benchmarks and fuzzers are not needed in the image.
RUN cmake --preset release -DWVA_BENCH=OFF >/dev/null \
 && cmake --build out/release --target wva -j"$(nproc)" \
 && install -D -m 0755 out/release/src/cmd/wva /out/usr/local/bin/wva \
 && strip /out/usr/local/bin/wva

FROM debian:bookworm-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
# Exactly the runtime packages of the shared libraries `wva` links (readelf NEEDED): libcurl
# (OpenSSL flavour; pulls libssl3), cpp-httplib, yaml-cpp, fmt, prometheus-cpp core, libstdc++;
# plus ca-certificates for https to Prometheus and the kube-apiserver. The ctest
# image_runtime_libs (tests/image/runtime_libs_test.sh) checks this list against the built binary
# and runs it as 65532 in a read-only root made of only these packages.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libcurl4 libcpp-httplib0.11 libyaml-cpp0.7 libfmt9 \
      libprometheus-cpp-core1.0 libstdc++6 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=builder /out/usr/local/bin/wva /usr/local/bin/wva
# 65532 = "nonroot" by convention (distroless); no home, no shell needed.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/wva"]
CMD ["run", "--leader-elect", "--metrics-bind-address=:8080", "--health-probe-bind-address=:8081"]

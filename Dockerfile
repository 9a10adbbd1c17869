# syntax=docker/dockerfile:1
# WVA-C++ controller image: `docker build -t ghcr.io/<org>/wva-cpp:<tag> .`
# Multi-stage: a Debian 12 builder with the same packages as scripts/setup.sh, then a slim
# runtime with only the shared libraries `wva` links against, running as non-root 65532.
# Not built in this repository's CI (no container engine there); see docs/install.md.

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
# Runtime counterparts of the -dev packages wva links: libcurl (OpenSSL flavour), OpenSSL,
# yaml-cpp, spdlog, fmt, prometheus-cpp core; ca-certificates for https to Prometheus and the
# kube-apiserver.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libcurl4 libssl3 libyaml-cpp0.7 libspdlog1.10 libfmt9 \
      libprometheus-cpp-core1.0 libstdc++6 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=builder /out/usr/local/bin/wva /usr/local/bin/wva
# 65532 = "nonroot" by convention (distroless); no home, no shell needed.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/wva"]
CMD ["run", "--leader-elect", "--metrics-bind-address=:8080", "--health-probe-bind-address=:8081"]

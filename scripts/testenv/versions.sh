# Versions of the real servers the integration tests run against, and where they are cached.
# Sourced by scripts/testenv/{build,up,down}. Change a version here and the cache key changes,
# so the next `build` compiles the new set into a fresh directory.
# v1.33.4: the newest 1.33 patch whose 31 staging modules are all served by the module proxy
# this machine reaches (v0.33.5 zips of endpointslice, externaljwt ... answer 403 there).
K8S_VERSION=${K8S_VERSION:-v1.33.4}
ETCD_VERSION=${ETCD_VERSION:-v3.5.21}
KWOK_VERSION=${KWOK_VERSION:-v0.7.0}
ADAPTER_VERSION=${ADAPTER_VERSION:-v0.12.0}
WVA_TESTENV_CACHE=${WVA_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wva-testenv}
WVA_TESTENV_KEY="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_adapter-${ADAPTER_VERSION}"
# WVA_TESTENV_BIN may point at a directory of prebuilt binaries instead.
WVA_TESTENV_BIN=${WVA_TESTENV_BIN:-$WVA_TESTENV_CACHE/$WVA_TESTENV_KEY/bin}

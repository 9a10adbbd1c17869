#!/usr/bin/env bash
# The controller image can start, proven without a container engine:
#  1. The runtime stage's Debian package list is parsed from the Dockerfile.
#  2. Every shared library the built `wva` needs (readelf NEEDED, and ldd's full closure) belongs
#     (dpkg -S) to a listed package, a dependency of one (dpkg Depends/Pre-Depends, recursively),
#     or the base image's Essential set.
#  3. Every listed package is used: it ships a library `wva` loads, or is allowlisted with a reason.
#  4. A root filesystem made of only the listed packages and their dependencies (their dpkg file
#     lists) plus the binary, mounted read-only, runs `wva --version` as UID 65532 under chroot,
#     the way the image's USER and the Deployment's readOnlyRootFilesystem run it. (Needs root for
#     chroot and a mount namespace; skipped with a note otherwise, steps 1-3 still decide.)
# Resolution uses this machine's dpkg database, so it must be the Dockerfile's Debian release
# (bookworm); exit 77 (skip) elsewhere. Usage: runtime_libs_test.sh <path to built wva>
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
WVA=${1:?usage: runtime_libs_test.sh <path to wva>}
DOCKERFILE=${WVA_DOCKERFILE:-$REPO/Dockerfile}  # override only to check the checker
if ! grep -q '^12' /etc/debian_version 2>/dev/null || ! command -v dpkg-query >/dev/null; then
  echo "SKIP: not Debian 12 (bookworm); the runtime stage's packages are resolved with dpkg here"
  exit 77
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wva-image-test.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

python3 - "$DOCKERFILE" "$WVA" "$WORK/closure.txt" <<'PY'
import re, subprocess, sys
dockerfile, wva, closure_out = sys.argv[1:4]
fails = 0
def check(cond, what):
    global fails
    print(("ok   - " if cond else "FAIL - ") + what)
    fails += 0 if cond else 1

# --- 1. The runtime stage's package list ----------------------------------------------------
text = open(dockerfile).read().replace("\\\n", " ")
stages = re.split(r"(?im)^FROM\s+", text)[1:]
runtime = [s for s in stages if re.match(r"\S+\s+AS\s+runtime\b", s, re.I)]
check(len(runtime) == 1, "Dockerfile has one stage named runtime")
stage = runtime[0]
base = stage.split()[0]
check(base.startswith("debian:bookworm"), f"runtime base image is Debian 12 ({base})")
listed = []
for cmd in re.findall(r"apt-get\s+install\s+([^&\n]*)", stage):
    listed += [t for t in cmd.split() if not t.startswith("-")]
check(bool(listed), "runtime stage installs: " + " ".join(listed))
user = re.findall(r"(?im)^USER\s+(\S+)", stage)
check(bool(user) and user[-1].split(":")[0] not in ("0", "root") and
      user[-1].split(":")[0].isdigit(), f"runtime stage runs as a numeric non-root user ({user})")

# --- dpkg helpers -----------------------------------------------------------------------------
def q(pkg, field):
    r = subprocess.run(["dpkg-query", "-W", "-f=${" + field + "}", pkg],
                       capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None
def installed(pkg):
    return (q(pkg, "Status") or "").endswith("installed")
def deps(pkg):
    out = []
    for field in ("Pre-Depends", "Depends"):
        for alt in filter(None, (x.strip() for x in (q(pkg, field) or "").split(","))):
            names = [re.sub(r"[\s(:].*", "", a.strip()) for a in alt.split("|")]
            pick = next((n for n in names if installed(n)), None)
            if pick:
                out.append(pick)
    return out
def closure(roots):
    seen, todo = {}, [(r, None) for r in roots]
    while todo:
        p, parent = todo.pop()
        if p in seen:
            continue
        seen[p] = parent
        todo += [(d, p) for d in deps(p)]
    return seen

missing = [p for p in listed if not installed(p)]
check(not missing, "every listed package exists in bookworm and is resolvable here" +
      (f" (not installed: {missing}; run scripts/setup.sh)" if missing else ""))
image = closure(listed)
r = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Essential}\n"], capture_output=True, text=True)
essential = [l.split()[0] for l in r.stdout.splitlines() if l.endswith(" yes")]
base_set = closure(essential)
open(closure_out, "w").write("\n".join(sorted(image)) + "\n")

# --- 2. Every library wva needs comes from the image -------------------------------------------
needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                    subprocess.run(["readelf", "-d", wva], capture_output=True, text=True).stdout)
check(bool(needed), f"readelf: {len(needed)} NEEDED libraries")
ldd = subprocess.run(["ldd", wva], capture_output=True, text=True).stdout
paths = {}
for line in ldd.splitlines():
    m = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line)
    if m:
        paths[m.group(1)] = m.group(2)
    m = re.match(r"\s*(/\S+ld-linux\S*)\s+\(", line)
    if m:
        paths[m.group(1)] = m.group(1)
for lib in needed:
    check(lib in paths and paths[lib] != "not", f"ldd resolves NEEDED {lib}")
def owner(path):
    import os
    cands = [path, os.path.realpath(path)]
    cands += [c.replace("/usr/lib/", "/lib/", 1) for c in cands if c.startswith("/usr/lib/")]
    cands += ["/usr" + c for c in cands if c.startswith("/lib")]
    for c in cands:
        r = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].split(",")[0].strip()
    return None
used = set()
for lib, path in sorted(paths.items()):
    pkg = owner(path)
    direct = lib in needed
    if pkg is None:
        check(False, f"{lib} ({path}): no Debian package owns it")
        continue
    used.add(pkg)
    if pkg in listed:
        how = "listed"
    elif pkg in image:
        how = f"dependency of {image[pkg]}"
    elif pkg in base_set:
        how = "base image (Essential)"
    else:
        how = None
    check(how is not None, f"{'NEEDED' if direct else 'ldd   '} {lib:<34} {pkg:<28} {how or 'NOT IN THE IMAGE'}")

# --- 3. No unused package ------------------------------------------------------------------------
allow = {"ca-certificates": "trust store for https to Prometheus and the kube-apiserver"}
for p in listed:
    if p in allow:
        check(True, f"{p}: not a library, kept: {allow[p]}")
    else:
        check(p in used, f"{p}: ships a library wva loads")
sys.exit(1 if fails else 0)
PY
status=$?

# --- 4. Run it from a root made of only those packages -------------------------------------------
if [ "$status" -eq 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v chroot >/dev/null || ! command -v unshare >/dev/null; then
    echo "note - not root (or no chroot/unshare): the read-only root run is skipped; the checks above decide"
  else
    ROOT=$WORK/root
    mkdir -p "$ROOT"/usr/{bin,lib,lib64,sbin} "$ROOT"/usr/local/bin "$ROOT"/tmp
    chmod 755 "$WORK" "$ROOT"
    # bookworm's merged /usr, as in the image.
    for d in bin lib lib64 sbin; do ln -s "usr/$d" "$ROOT/$d"; done
    while read -r pkg; do
      dpkg -L "$pkg" 2>/dev/null | while read -r f; do
        [ -d "$f" ] && continue
        if [ -e "$f" ] || [ -L "$f" ]; then
          mkdir -p "$ROOT$(dirname "$f")" && cp -a "$f" "$ROOT$f" 2>/dev/null
        fi
      done
    done <"$WORK/closure.txt"
    install -m 0755 "$WVA" "$ROOT/usr/local/bin/wva"
    out=$(unshare -m sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" &&
                             chroot --userspec=65532:65532 "$1" /usr/local/bin/wva --version' \
            sh "$ROOT" 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && echo "$out" | grep -q '^wva '; then
      echo "ok   - read-only root of $(wc -l <"$WORK/closure.txt") packages, UID 65532: $out"
    else
      echo "FAIL - read-only root of the runtime packages, UID 65532: wva --version exited $rc: $out"
      status=1
    fi
  fi
fi
[ "$status" -eq 0 ] && echo "image_runtime_libs: passed" || echo "image_runtime_libs: FAILED"
exit "$status"

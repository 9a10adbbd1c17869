#!/usr/bin/env bash
# `make format` / `make format-check`: clang-format 14 (.clang-format) and braces on every control
# statement (.clang-tidy: readability-braces-around-statements; clang-format 14 cannot insert
# them). The compile database comes from the clang-tsa preset (configured here when missing).
#   scripts/format.sh           rewrite: insert missing braces, then clang-format in place
#   scripts/format.sh --check   report and exit non-zero on any difference; changes nothing
#   either form takes optional file arguments (default: every tracked C++ file)
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
MODE=fix
if [ "${1:-}" = "--check" ]; then MODE=check; shift; fi

for tool in clang-format-14 clang-tidy-14 run-clang-tidy-14; do
  if ! command -v "$tool" >/dev/null; then
    echo "format: $tool not found (scripts/setup.sh installs clang-format-14 and clang-tidy-14)" >&2
    exit 2
  fi
done

header_filter=()
if [ "$#" -gt 0 ]; then
  files=("$@")
  # Only the named headers are checked or fixed (not every project header the sources include).
  named=$(printf '%s\n' "$@" | grep -E '\.h$' | sed 's/[.+]/\\&/g' | paste -sd'|' || true)
  header_filter=(-header-filter="^$PWD/(${named:-a^})\$")
else
  mapfile -t files < <(git ls-files -- 'src/*.cc' 'src/*.h' 'bench/*.cc' 'bench/*.h' \
                                       'fuzz/*.cc' 'fuzz/*.h' 'tests/*.cc' 'tests/*.h')
fi
[ "${#files[@]}" -gt 0 ] || exit 0

DB=out/clang-tsa
if [ ! -f "$DB/compile_commands.json" ]; then
  cmake --preset clang-tsa >/dev/null
fi

# Sources in the compile database go through run-clang-tidy (parallel); the rest (fuzz targets,
# built only by the fuzz preset) are checked with the project's include path. Headers are
# checked through the sources that include them (HeaderFilterRegex).
mapfile -t in_db < <(python3 - "$DB/compile_commands.json" "${files[@]}" <<'PY'
import json, os, sys
db = {os.path.realpath(e["file"]) for e in json.load(open(sys.argv[1]))}
for f in sys.argv[2:]:
    if f.endswith(".cc") and os.path.realpath(f) in db:
        print(f)
PY
)
others=()
for f in "${files[@]}"; do
  case "$f" in *.cc) ;; *) continue ;; esac
  if ! printf '%s\n' "${in_db[@]}" | grep -qxF "$f"; then others+=("$f"); fi
done

status=0
tidy_args=(-quiet -p "$DB" -j "$JOBS" "${header_filter[@]}")
if [ "$MODE" = fix ]; then tidy_args+=(-fix); fi
if [ "${#in_db[@]}" -gt 0 ]; then
  regex="^($(printf '%s\n' "${in_db[@]}" | sed 's/[.+]/\\&/g' | sed "s|^|$PWD/|" | paste -sd'|'))\$"
  # With -fix the diagnostics are the braces it inserted: only a check run reports them.
  if ! run-clang-tidy-14 "${tidy_args[@]}" "$regex" > "$DB/format-tidy.log" 2>&1 &&
     [ "$MODE" = check ]; then
    status=1
    sed 's/\x1b\[[0-9;]*m//g' "$DB/format-tidy.log" | grep -E 'warning:|error:' | sort -u >&2 || true
  fi
fi
for f in "${others[@]}"; do
  fix=()
  if [ "$MODE" = fix ]; then fix=(-fix); fi
  if ! clang-tidy-14 --quiet --use-color=false "${fix[@]}" "${header_filter[@]}" "$f" -- \
       -std=c++20 -Isrc && [ "$MODE" = check ]; then
    status=1
  fi
done

if [ "$MODE" = fix ]; then
  clang-format-14 -i "${files[@]}"
else
  clang-format-14 --dry-run --Werror "${files[@]}" || status=1
fi
if [ "$status" -ne 0 ]; then
  echo "format: differences found; run 'make format'" >&2
fi
exit $status

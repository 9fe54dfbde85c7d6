#!/usr/bin/env bash
# Lays out the C and C++ sources as .clang-format says; --check changes nothing and fails, naming
# the files, when one differs. The layout is clang-format 14's (Debian 12's): another release may
# lay out a few lines differently, so CI checks with that one.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
if [[ -n $mode && $mode != --check ]]; then
  echo "usage: scripts/format.sh [--check]" >&2
  exit 2
fi
mapfile -t files < <(git ls-files '*.c' '*.h' '*.cpp' '*.hpp')
if [[ $mode == --check ]]; then
  if ! clang-format --dry-run --Werror "${files[@]}" 2>/dev/null; then
    echo "format: these files differ from .clang-format's layout (scripts/format.sh fixes them):" >&2
    for f in "${files[@]}"; do
      clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || echo "  $f" >&2
    done
    exit 1
  fi
  echo "format: ${#files[@]} files as .clang-format lays them out"
else
  clang-format -i "${files[@]}"
fi

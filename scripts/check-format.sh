#!/usr/bin/env bash
# Checks every C++ source file against .clang-format (run by `make test`; exits 1 naming
# each file that is not formatted). With --fix it rewrites them instead (`make format`).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find core config dist data models train track launcher bench tests fuzz \
                       \( -name '*.h' -o -name '*.cpp' \) -not -path 'tests/golden/*' | sort)
if [ "${1:-}" = "--fix" ]; then
  clang-format -i --style=file "${files[@]}"
  exit 0
fi
unformatted=()
for file in "${files[@]}"; do
  clang-format --style=file "$file" | cmp -s - "$file" || unformatted+=("$file")
done
for file in "${unformatted[@]}"; do echo "not formatted: $file (make format)"; done
echo "format: ${#unformatted[@]} of ${#files[@]} files not formatted"
[ ${#unformatted[@]} -eq 0 ]

#!/usr/bin/env python3
"""Checks that every folder includes only the folders below it (docs/architecture.md).

Each source folder is a layer; a file may include headers of its own folder and of the
folders listed for it here, nothing else. Run by `make test`; exits 1 naming each
include that breaks the layering.
"""
import pathlib
import re
import sys

# folder -> the folders its files may include (besides itself)
ALLOWED = {
    "core": set(),
    "config": {"core"},
    "dist": {"core", "config"},
    "data": {"core", "config", "dist"},
    "models": {"core", "config", "dist", "data"},
    "track": {"core", "config", "dist"},
    "train": {"core", "config", "dist", "data", "models", "track"},
    "launcher": {"core", "config", "dist", "data", "models", "track", "train"},
    # Benchmarks and tests use the library; only the launcher's tests reach into it.
    "bench": {"core", "config", "dist", "data", "models", "track", "train"},
    "tests": {"core", "config", "dist", "data", "models", "track", "train", "launcher"},
    # The fuzz harnesses are tests too, and share the tests' tiny models.
    "fuzz": {"core", "config", "dist", "data", "models", "track", "train", "launcher", "tests"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)/[^"]+"', re.MULTILINE)


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    problems = []
    for folder, allowed in ALLOWED.items():
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in {".h", ".cpp", ".in"}:
                continue
            text = path.read_text(encoding="utf-8")
            for match in INCLUDE.finditer(text):
                target = match.group(1)
                if target == folder or target not in ALLOWED:
                    continue  # its own folder, or a generated/test-local header
                if target not in allowed:
                    line = text.count("\n", 0, match.start()) + 1
                    problems.append(f"{path.relative_to(root)}:{line}: {folder}/ may not include {target}/ "
                                    f"(allowed: {', '.join(sorted(allowed)) or 'nothing'})")
    for problem in problems:
        print(problem)
    folders = [f for f in ALLOWED if (root / f).is_dir()]
    print(f"layers: {len(problems)} include(s) break the layering in {len(folders)} folders")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

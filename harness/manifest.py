"""The problem manifest: one entry per problem file, with the hash of its bytes.

    python -m harness.manifest [root]           write root/manifest.json (root defaults to problems)
    python -m harness.manifest --check [root]   exit 1 if root/manifest.json is not what would be written

A problem lives at root/level<L>/<name>.py; its id is "level<L>/<name>". Files whose name starts
with an underscore are not problems. Standard library only, so that it runs without torch.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import List, Optional, Union

MANIFEST_NAME = "manifest.json"
DEFAULT_ROOT = "problems"
_LEVEL_DIR = re.compile(r"^level(\d+)$")


def build_manifest(root: Union[str, Path]) -> List[dict]:
    """Entries for every root/level*/*.py, ordered by level number, then by name."""
    root = Path(root)
    entries = []
    for level_dir in root.glob("level*"):
        m = _LEVEL_DIR.match(level_dir.name)
        if not m or not level_dir.is_dir():
            continue
        level = int(m.group(1))
        for path in level_dir.glob("*.py"):
            if path.name.startswith("_") or not path.is_file():
                continue
            rel = path.relative_to(root).as_posix()
            entries.append({
                "id": f"{level_dir.name}/{path.stem}",
                "level": level,
                "name": path.stem,
                "file": rel,
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            })
    entries.sort(key=lambda e: (e["level"], e["name"]))
    return entries


def render(entries: List[dict]) -> str:
    """The exact text of manifest.json for these entries."""
    return json.dumps(entries, indent=1, sort_keys=True) + "\n"


def manifest_path(root: Union[str, Path]) -> Path:
    return Path(root) / MANIFEST_NAME


def write_manifest(root: Union[str, Path]) -> List[dict]:
    """Write root/manifest.json; returns its entries."""
    entries = build_manifest(root)
    manifest_path(root).write_text(render(entries), encoding="utf-8")
    return entries


def check_manifest(root: Union[str, Path]) -> Optional[str]:
    """None if root/manifest.json is current, else a one-line reason."""
    path = manifest_path(root)
    expected = render(build_manifest(root))
    if not path.is_file():
        return f"{path} is missing; run: python -m harness.manifest {root}"
    if path.read_text(encoding="utf-8") != expected:
        return f"{path} is out of date; run: python -m harness.manifest {root}"
    return None


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    rest = [a for a in args if a != "--check"]
    if any(a.startswith("-") for a in rest) or len(rest) > 1:
        print("usage: python -m harness.manifest [--check] [root]", file=sys.stderr)
        return 2
    root = rest[0] if rest else DEFAULT_ROOT
    if not Path(root).is_dir():
        print(f"{root} is not a directory", file=sys.stderr)
        return 2
    if check:
        problem = check_manifest(root)
        if problem:
            print(problem, file=sys.stderr)
            return 1
        return 0
    entries = write_manifest(root)
    print(f"wrote {manifest_path(root)} ({len(entries)} problems)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

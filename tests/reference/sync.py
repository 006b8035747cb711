"""Refresh tests/reference/ from ../shared/golden, or list where the two differ.

    python tests/reference/sync.py            # copy: the in-repo data becomes the source's
    python tests/reference/sync.py --check    # exit 1 and list the differences, copy nothing

Everything in the source is copied byte for byte except the cases in :data:`LEFT_OUT`
(too large for the repository; their tests read them from ../shared/golden or skip) and
the source's README.md (this directory's README.md describes the copy).  Files here that
the source no longer has are removed, so a refresh always gives the same tree.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[1] / ".." / "shared" / "golden"

#: full-frame cases kept out of the repository (supervisor_full: a 23 MB gzipped image)
LEFT_OUT = frozenset({"supervisor_full"})
#: files of this directory that are not data: never copied over, never removed
OWN = frozenset({"README.md", "sync.py"})


def _wanted(relative: Path) -> bool:
    """True for a source file that belongs in the copy."""
    return relative.parts[0] not in LEFT_OUT and relative.parts[0] not in OWN


def _files(root: Path) -> dict[Path, Path]:
    """Regular files under ``root`` (relative path -> path), caches excluded."""
    return {p.relative_to(root): p for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def differences(source: Path = SOURCE, target: Path = HERE) -> list[str]:
    """One line per file that is missing, extra or different in ``target``; empty when in sync."""
    src = {rel: p for rel, p in _files(source).items() if _wanted(rel)}
    dst = {rel: p for rel, p in _files(target).items() if _wanted(rel)}
    lines = [f"missing here: {rel}" for rel in sorted(src.keys() - dst.keys())]
    lines += [f"not in {source}: {rel}" for rel in sorted(dst.keys() - src.keys())]
    lines += [f"differs: {rel}" for rel in sorted(src.keys() & dst.keys())
              if src[rel].read_bytes() != dst[rel].read_bytes()]
    return lines


def sync(source: Path = SOURCE, target: Path = HERE) -> None:
    """Make ``target`` hold exactly the wanted files of ``source``."""
    src = {rel: p for rel, p in _files(source).items() if _wanted(rel)}
    for rel, path in _files(target).items():
        if _wanted(rel) and rel not in src:
            path.unlink()
    for rel, path in src.items():
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        # bytes only: the source is read-only, the copy must stay writable for the next refresh
        out.write_bytes(path.read_bytes())
    for directory in sorted((d for d in target.rglob("*") if d.is_dir()), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="list differences, copy nothing")
    parser.add_argument("--source", type=Path, default=SOURCE, help="default: ../shared/golden")
    ns = parser.parse_args(argv)
    if not (ns.source / "cases.json").is_file():
        print(f"sync.py: no golden data at {ns.source}", file=sys.stderr)
        return 2
    if ns.check:
        lines = differences(ns.source)
        print("\n".join(lines) if lines else "in sync")
        return 1 if lines else 0
    sync(ns.source)
    return 0


if __name__ == "__main__":
    sys.exit(main())

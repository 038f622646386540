"""What "touched path X" means: a file, everything under a directory, a bare file name, or a glob.

People say "config/production.yaml", "the config/ directory", "Dockerfile" or "*.tf"; all compare
case-insensitively against a changed file's repository path.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

__all__ = ["path_matches"]


def path_matches(path: str, wanted: str) -> bool:
    """True when the changed file `path` is what `wanted` names.

    Exact path; a directory (`config` or `config/`) matches every file below it; a bare name with no
    slash (`Dockerfile`, `production.yaml`) matches that file in any directory; `*`, `?` or `[` make
    a glob, matched against the whole path and, without a slash, against the file name too.
    """
    have = path.strip().lstrip("/").lower()
    want = wanted.strip().lstrip("/").lower()
    if not want:
        return False
    if any(c in want for c in "*?["):
        return fnmatchcase(have, want) or ("/" not in want and fnmatchcase(have.rsplit("/", 1)[-1], want))
    if have == want.rstrip("/") or have.startswith(want.rstrip("/") + "/"):
        return True
    return "/" not in want and have.rsplit("/", 1)[-1] == want

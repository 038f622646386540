"""What a path people name means: "touched path X" (a file, a directory, a bare name, a glob) and a file
described by words ("the prod config", "the variables file of the eks module").

People say "config/production.yaml", "the config/ directory", "Dockerfile" or "*.tf"; all compare
case-insensitively against a changed file's repository path. A description is scored against a path's
parts (`describes`), with the short forms people use for them ("prod" is production, "tf" terraform).
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

__all__ = ["PATH_FORMS", "PATH_WORDS", "describes", "path_matches"]

# The forms one path part goes by: a word of a description matches a part by any of its group's forms.
PATH_WORDS: tuple[tuple[str, ...], ...] = (
    ("prod", "production", "prd", "live"),
    ("staging", "stage", "stg", "preprod"),
    ("dev", "development", "local"),
    ("test", "tests", "testing", "spec", "specs"),
    ("config", "configs", "configuration", "conf", "cfg", "settings"),
    ("tf", "terraform"),
    ("variables", "variable", "vars"),
    ("env", "envs", "environment", "environments"),
    ("module", "modules"),
    ("doc", "docs", "documentation", "readme"),
    ("k8s", "kubernetes", "kube", "helm", "chart", "charts"),
    ("deps", "dependencies", "requirements"),
    ("pipeline", "pipelines", "ci"),
    ("docker", "dockerfile", "container"),
)
PATH_FORMS = {w: group for group in PATH_WORDS for w in group}


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


def describes(path: str, words: list[str]) -> float | None:
    """How well `path` fits a description: None unless every word names one of its parts; higher when
    the words name the file itself rather than its directories, and for shallower paths."""
    parts = [p for p in re.split(r"[/._-]+", path.lower()) if p]
    name_parts = set(re.split(r"[._-]+", PurePosixPath(path.lower()).name))
    score = 0.0
    for word in (w.lower() for w in words):
        forms = PATH_FORMS.get(word, (word,))
        hit = [p for p in parts if any(p == f or (len(f) >= 4 and p.startswith(f)) for f in forms)]
        if not hit:
            return None
        score += 3.0 if name_parts & set(hit) else 2.0
    return score - 0.1 * path.count("/")

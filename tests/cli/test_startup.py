"""Start-up: `--help`, `--version` and usage errors import nothing heavy (langgraph, openai, matplotlib, the
sandbox); the modules loaded are read from a fresh interpreter, not timed (timing is in benchmarks/)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("langgraph", "openai", "matplotlib", "langchain_core", "bbscout.sandbox")
PROBE = """
import json, sys
sys.argv = ["bbscout", *json.loads(sys.argv[1])]
from bbscout.agent.cli import app
try:
    app()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.__stderr__)
"""


def loaded(*argv: str) -> tuple[int, list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv)], capture_output=True, text=True, timeout=120
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    return report["code"], report["modules"]


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (("--help",), 0),
        (("--version",), 0),
        (("ask", "--help"), 0),
        (("ask",), 2),  # usage error: the question is missing
        (("ask", "what failed?", "--planner", "nope"), 2),
        (("no-such-command",), 2),
    ],
)
def test_help_version_and_usage_errors_import_nothing_heavy(argv: tuple[str, ...], code: int) -> None:
    exit_code, modules = loaded(*argv)
    assert exit_code == code
    heavy = sorted({m for m in modules for h in HEAVY if m == h or m.startswith(h + ".")})
    assert not heavy, f"bbscout {' '.join(argv)} imported {heavy[:10]}"
    assert "bbscout.agent.cli" in modules  # the probe really ran the CLI

"""`eval` and `sandbox` register themselves (entry points); the product CLI never imports its harness."""

from __future__ import annotations

import subprocess
import sys

from tests.cli.conftest import Run, assert_no_traceback

HARNESS = ("bbscout.evals", "bbscout.sandbox")


def python(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter, so the modules it imports are its own."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_help_lists_the_registered_commands(bbscout: Run) -> None:
    result = bbscout("--help")
    assert result.returncode == 0, result.stderr
    panel = result.stdout.split("Commands", 1)[1].split("╰", 1)[0]
    commands = [line.split()[1] for line in panel.splitlines() if line.startswith("│ ") and line[2] != " "]
    assert commands[:4] == ["ask", "investigate", "chat", "connect"]
    assert {"eval", "sandbox"} <= set(commands)
    assert "Run the eval suite" in result.stdout and "The local Bitbucket Cloud sandbox" in result.stdout


def test_registered_commands_run_with_their_own_options(bbscout: Run) -> None:
    serve = bbscout("sandbox", "serve", "--help")
    assert serve.returncode == 0 and "--latency-ms" in serve.stdout, serve.stderr
    bad = bbscout("sandbox", "serve", "--error-rate", "2")
    assert bad.returncode == 2 and "--error-rate" in bad.stderr
    assert_no_traceback(bad)


def test_importing_the_cli_imports_neither_evals_nor_sandbox() -> None:
    result = python(
        f"import sys, bbscout.agent.cli\nprint(sorted(m for m in sys.modules if m.startswith({HARNESS!r})))\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_registered_command_is_imported_only_when_asked_for() -> None:
    result = python(
        "import sys, typer\n"
        "from bbscout.agent.cli import app, registered_commands\n"
        "group = typer.main.get_command(app)\n"
        "ctx = typer.Context(group)\n"
        "loaded = lambda: sorted({m.split('.')[1] for m in sys.modules if m.startswith("
        f"{HARNESS!r})}})\n"
        "print(sorted(registered_commands()))\n"
        "group.get_command(ctx, 'ask'); print(loaded())\n"
        "group.get_command(ctx, 'sandbox'); print(loaded())\n"
        "print(group.get_command(ctx, 'eval').name)\n"
    )
    assert result.returncode == 0, result.stderr
    registered, after_ask, after_sandbox, eval_name = result.stdout.splitlines()
    assert registered == "['eval', 'sandbox']"
    assert after_ask == "[]"  # the product's own commands load nothing of the harness
    assert after_sandbox == "['sandbox']"
    assert eval_name == "eval"

"""Every bad input ends in one actionable paragraph and its exit code — never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.conftest import NOW, Run, assert_no_traceback


@pytest.mark.parametrize(
    ("question", "needle"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("x" * 20_000, "limit is"),
        ("what \x01\x02\x7f\x1b failed", "binary or control"),
    ],
)
def test_bad_questions_exit_2(bbscout: Run, question: str, needle: str) -> None:
    result = bbscout("ask", question, "--now", NOW)
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr
    assert_no_traceback(result)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--now", "yesterday-ish"], "not an ISO-8601"),
        (["--tz", "Mars/Olympus"], "not a known time zone"),
        (["--planner", "magic"], "not one of"),
        (["--planner", "llm"], "OPENAI_API_KEY"),
        (["--repo", "no-such-repo"], "No repository 'no-such-repo'"),
    ],
)
def test_bad_options_exit_2(bbscout: Run, args: list[str], needle: str) -> None:
    result = bbscout(
        "ask",
        "what pipelines failed in the last 24 hours?",
        *(args if "--now" in args else [*args, "--now", NOW]),
    )
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr
    assert_no_traceback(result)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"BITBUCKET_API_TOKEN": "ATATT-abc"}, "BITBUCKET_EMAIL"),
        ({"BITBUCKET_ACCESS_TOKEN": "ATCTT-abc"}, "BITBUCKET_WORKSPACE"),
        (
            {"BITBUCKET_ACCESS_TOKEN": "a", "BITBUCKET_WORKSPACE": "w", "BITBUCKET_BASE_URL": "ftp://x"},
            "BITBUCKET_BASE_URL",
        ),
    ],
)
def test_configuration_errors_exit_2(bbscout: Run, env: dict[str, str], needle: str) -> None:
    result = bbscout("ask", "failed pipelines", "--now", NOW, env=env)
    assert result.returncode == 2 and needle in result.stderr, result.stderr
    assert "ATATT-abc" not in result.stderr + result.stdout
    assert_no_traceback(result)


def test_unreadable_and_world_readable_config_exit_2(bbscout: Run, clean_env: dict[str, str]) -> None:
    config = Path(clean_env["BBSCOUT_CONFIG"])
    config.write_text("this is = = not toml")
    result = bbscout("ask", "failed pipelines", "--now", NOW)
    assert result.returncode == 2 and "Cannot read the config file" in result.stderr
    config.write_text('workspace = "acme"\nemail = "a@b.io"\napi_token = "ATATT-secret"\n')
    os.chmod(config, 0o644)
    result = bbscout("ask", "failed pipelines", "--now", NOW)
    assert result.returncode == 2 and "chmod 600" in result.stderr
    assert "ATATT-secret" not in result.stderr
    assert_no_traceback(result)


def test_investigate_needs_at(bbscout: Run) -> None:
    result = bbscout("investigate", "checkout errors", "--now", NOW)
    assert result.returncode == 2 and "--at" in result.stderr

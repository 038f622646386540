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


API = "https://api.bitbucket.org/2.0"
EITHER_CREDENTIAL = "BITBUCKET_API_TOKEN (with BITBUCKET_EMAIL) or BITBUCKET_ACCESS_TOKEN"


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        # the case: base URL, workspace and email set, the token forgotten
        (
            {"BITBUCKET_BASE_URL": API, "BITBUCKET_WORKSPACE": "acme", "BITBUCKET_EMAIL": "a@b.io"},
            "BITBUCKET_API_TOKEN",
        ),
        ({"BITBUCKET_WORKSPACE": "acme", "BITBUCKET_API_TOKEN": "ATATT-abc"}, "BITBUCKET_EMAIL"),
        ({"BITBUCKET_EMAIL": "a@b.io", "BITBUCKET_API_TOKEN": "ATATT-abc"}, "BITBUCKET_WORKSPACE"),
        ({"BITBUCKET_ACCESS_TOKEN": "ATCTT-abc"}, "BITBUCKET_WORKSPACE"),
        ({"BITBUCKET_WORKSPACE": "acme"}, EITHER_CREDENTIAL),
        ({"BITBUCKET_EMAIL": "a@b.io"}, "BITBUCKET_WORKSPACE and BITBUCKET_API_TOKEN"),
        ({"BITBUCKET_API_TOKEN": "ATATT-abc"}, "BITBUCKET_WORKSPACE and BITBUCKET_EMAIL"),
        ({"BITBUCKET_BASE_URL": API}, f"BITBUCKET_WORKSPACE and {EITHER_CREDENTIAL}"),
        (
            {"BITBUCKET_WORKSPACE": "acme", "BITBUCKET_EMAIL": "a@b.io", "BITBUCKET_API_TOKEN": ""},
            "BITBUCKET_API_TOKEN (set but empty)",
        ),
    ],
)
def test_partial_bitbucket_configuration_exit_2_naming_what_is_missing(
    bbscout: Run, env: dict[str, str], missing: str
) -> None:
    result = bbscout("ask", "failed pipelines", "--now", NOW, env=env)
    assert result.returncode == 2, result.stderr + result.stdout
    assert f"missing {missing}. " in result.stderr, result.stderr
    assert "embedded sandbox workspace" not in result.stderr and not result.stdout
    assert "ATATT-abc" not in result.stderr
    assert_no_traceback(result)


def test_partial_configuration_in_the_config_file_exit_2(bbscout: Run, clean_env: dict[str, str]) -> None:
    config = Path(clean_env["BBSCOUT_CONFIG"])
    config.write_text('[bitbucket]\nworkspace = "acme"\nemail = "a@b.io"\n')
    result = bbscout("ask", "failed pipelines", "--now", NOW)
    assert result.returncode == 2, result.stderr
    assert "missing BITBUCKET_API_TOKEN. " in result.stderr and str(config) in result.stderr
    assert_no_traceback(result)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"BITBUCKET_ACCESS_TOKEN": "a", "BITBUCKET_API_TOKEN": "b", "BITBUCKET_WORKSPACE": "w"}, "keep one"),
        (
            {"BITBUCKET_ACCESS_TOKEN": "a", "BITBUCKET_WORKSPACE": "w", "BITBUCKET_BASE_URL": "ftp://x"},
            "BITBUCKET_BASE_URL",
        ),
    ],
)
def test_configuration_errors_exit_2(bbscout: Run, env: dict[str, str], needle: str) -> None:
    result = bbscout("ask", "failed pipelines", "--now", NOW, env=env)
    assert result.returncode == 2 and needle in result.stderr, result.stderr
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


def test_investigate_needs_a_time_in_the_symptom_or_at(bbscout: Run) -> None:
    result = bbscout("investigate", "checkout errors", "--now", NOW)
    assert result.returncode == 2 and "--at" in result.stderr and "since 14:05 UTC" in result.stderr
    assert_no_traceback(result)

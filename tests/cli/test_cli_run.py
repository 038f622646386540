"""The CLI end to end: embedded default, a loopback sandbox with real credentials, each refusal class."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.cli.conftest import ANCHOR, BBSCOUT, NOW, Run, assert_no_traceback, read_until

QUESTION = "What pipelines failed in the last 24 hours?"


@pytest.fixture(scope="module")
def world():  # type: ignore[no-untyped-def]
    from bbscout.sandbox.world import build_world

    return build_world("default", seed=7, anchor=datetime.fromisoformat(ANCHOR))


@pytest.fixture(scope="module")
def server(world) -> Iterator[object]:  # type: ignore[no-untyped-def]
    from bbscout.sandbox.app import SandboxSettings, create_app
    from bbscout.sandbox.server import LoopbackServer

    app = create_app(world, SandboxSettings())
    with LoopbackServer(app) as srv:
        srv.app = app  # type: ignore[attr-defined]
        yield srv


def creds(world, server, label: str = "demo", **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    token = world.token(label)
    env = {"BITBUCKET_BASE_URL": server.base_url, "BITBUCKET_WORKSPACE": "acme"}
    if token.kind == "api_token":
        env |= {"BITBUCKET_EMAIL": token.email or "", "BITBUCKET_API_TOKEN": token.secret}
    else:
        env |= {"BITBUCKET_ACCESS_TOKEN": token.secret}
    return env | extra


def test_embedded_default_answers_and_says_so(bbscout: Run) -> None:
    result = bbscout("ask", QUESTION, "--now", NOW)
    assert result.returncode in (0, 1), result.stderr
    assert "embedded sandbox" in result.stderr and "rules planner" in result.stderr
    assert "pipeline:" in result.stdout and "failed" in result.stdout.lower()
    assert "Source: the embedded sandbox workspace 'acme' (invented demo data)." in result.stdout
    assert "list_pipelines" in result.stderr  # the live progress lists each call
    assert_no_traceback(result)


def test_json_contract_only_json_on_stdout(bbscout: Run) -> None:
    result = bbscout("ask", QUESTION, "--json", "--now", NOW)
    assert result.returncode in (0, 1), result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) >= {
        "question",
        "planner",
        "now",
        "window",
        "answer",
        "entities",
        "findings",
        "gaps",
        "constraints",
        "stats",
    }
    assert doc["planner"] == "rules" and doc["question"] == QUESTION
    assert doc["source"] == "sandbox" and doc["answer"].endswith("(invented demo data).")
    assert [(c["filter"], c["value"], c["applied"], c["how"]) for c in doc["constraints"]] == [
        ("state", "FAILED/ERROR", True, "list_pipelines.results"),
        ("window", "in the last 24 hours", True, "list_pipelines.since"),
    ]
    assert doc["window"]["end"].startswith("2026-11-29T16:20")
    assert set(doc["stats"]) >= {"http_requests", "http_bytes", "tool_calls", "llm_tokens", "seconds"}
    assert doc["stats"]["http_requests"] > 0
    for entity in doc["entities"]:
        assert entity["type"] == "pipeline" and entity["ref"] == f"pipeline:{entity['repo']}#{entity['id']}"
        assert entity["url"].startswith("https://bitbucket.org/acme/")


def test_json_lists_a_constraint_the_answer_could_not_apply(bbscout: Run) -> None:
    result = bbscout("ask", "open PRs labelled bug in checkout", "--json", "--now", NOW)
    doc = json.loads(result.stdout)
    unapplied = [c for c in doc["constraints"] if not c["applied"]]
    assert unapplied == [
        {
            "kind": "other",
            "filter": "label",
            "value": "bug",
            "applied": False,
            "how": "no tool argument filters by label",
            "reading": None,
        }
    ]
    assert doc["answer"].startswith("**I could not filter by label 'bug'")
    assert any(c["applied"] and c["value"] == "checkout-service" for c in doc["constraints"])


def test_real_credentials_over_loopback(bbscout: Run, world, server) -> None:  # type: ignore[no-untyped-def]
    result = bbscout("ask", QUESTION, "--json", "--now", NOW, env=creds(world, server))
    assert result.returncode in (0, 1), result.stderr
    assert "embedded sandbox" not in result.stderr
    doc = json.loads(result.stdout)
    assert doc["entities"] and doc["source"] == "bitbucket" and "sandbox" not in doc["answer"]
    assert world.token("demo").secret not in result.stdout + result.stderr


def test_a_request_to_act_exits_3_refused_read_only(bbscout: Run) -> None:
    result = bbscout("ask", "could you revert PR 68 in checkout-service?", "--json", "--now", NOW)
    assert result.returncode == 3, result.stderr
    doc = json.loads(result.stdout)
    assert doc["refused"] == "read-only"
    assert doc["answer"].startswith("**bbscout is read-only, so I did not revert PR #68 in checkout-service")
    assert [e["type"] for e in doc["entities"]] == ["pull_request", "commit"]
    assert "Error:" not in result.stderr and "refused (read-only)" in result.stderr  # the plan line says so
    asked = bbscout("ask", "who reverted PR 68 in checkout-service?", "--json", "--now", NOW)
    assert json.loads(asked.stdout)["refused"] is None and asked.returncode in (0, 1)
    assert_no_traceback(result)


def test_401_wrong_token_exit_3_with_fix(bbscout: Run, world, server) -> None:  # type: ignore[no-untyped-def]
    env = creds(world, server, BITBUCKET_API_TOKEN="ATATT-wrong-token-value")
    result = bbscout("ask", QUESTION, "--now", NOW, env=env)
    assert result.returncode == 3, result.stderr
    assert "401" in result.stderr and "email" in result.stderr.lower() and "scopes" in result.stderr
    assert "ATATT-wrong-token-value" not in result.stderr + result.stdout
    assert_no_traceback(result)


def test_403_missing_scope_names_the_scope(bbscout: Run, world, server) -> None:  # type: ignore[no-untyped-def]
    result = bbscout("ask", QUESTION, "--now", NOW, env=creds(world, server, "no-pipeline-scope"))
    assert result.returncode == 3, result.stderr + result.stdout
    assert "read:pipeline:bitbucket" in result.stderr + result.stdout
    assert_no_traceback(result)


def test_404_wrong_workspace_exit_3(bbscout: Run, world, server) -> None:  # type: ignore[no-untyped-def]
    result = bbscout("ask", QUESTION, "--now", NOW, env=creds(world, server, BITBUCKET_WORKSPACE="acme-typo"))
    assert result.returncode == 3, result.stderr
    assert "workspace" in result.stderr.lower() and "404" in result.stderr
    assert_no_traceback(result)


def test_rate_limited_beyond_budget_exit_4(bbscout: Run, world) -> None:  # type: ignore[no-untyped-def]
    from bbscout.sandbox.app import SandboxSettings, create_app
    from bbscout.sandbox.server import LoopbackServer

    with LoopbackServer(create_app(world, SandboxSettings(rate_limit_per_hour=1))) as srv:
        result = bbscout("ask", QUESTION, "--now", NOW, env=creds(world, srv))
    assert result.returncode == 4, result.stderr + result.stdout
    assert "429" in result.stderr or "rate limit" in result.stderr.lower()
    assert_no_traceback(result)


def test_connect_passes_on_sandbox_and_fails_with_fix(bbscout: Run, world, server) -> None:  # type: ignore[no-untyped-def]
    good = bbscout("connect", env=creds(world, server))
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.count("pass") >= 5
    bad = bbscout("connect", env=creds(world, server, "no-pipeline-scope"))
    assert bad.returncode == 3
    assert "FAIL" in bad.stdout and "read:pipeline:bitbucket" in bad.stdout
    assert_no_traceback(bad)


def test_investigate_names_the_planted_culprit(bbscout: Run, world) -> None:  # type: ignore[no-untyped-def]
    scenario = world.scenarios["config_change_incident"]
    result = bbscout(
        "investigate",
        scenario.symptom,
        "--at",
        scenario.at.isoformat(),
        "--now",
        NOW,
        "--json",
    )
    assert result.returncode in (0, 1), result.stderr
    doc = json.loads(result.stdout)
    assert doc["entities"][0]["ref"] == scenario.culprit_ref


def test_investigate_reads_the_onset_the_symptom_states(bbscout: Run, world) -> None:  # type: ignore[no-untyped-def]
    """ "checkout errors since 14:05 UTC" needs no --at: the symptom says when it began."""
    scenario = world.scenarios["config_change_incident"]
    said = f"{scenario.symptom} since {scenario.at:%H:%M} UTC"
    result = bbscout("investigate", said, "--now", NOW, "--json")
    assert result.returncode in (0, 1), result.stderr
    doc = json.loads(result.stdout)
    assert doc["entities"][0]["ref"] == scenario.culprit_ref
    assert f"from {scenario.at:%Y-%m-%d %H:%M} UTC" in doc["answer"]


def test_chat_remembers_across_runs_and_follow_ups_use_earlier_evidence(bbscout: Run) -> None:
    first = bbscout("chat", "--thread", "t1", "--now", NOW, input=f"{QUESTION}\nexit\n")
    assert first.returncode == 0, first.stderr
    assert "pipeline:" in first.stdout
    second = bbscout("chat", "--thread", "t1", "--now", NOW, input="which of those were on main?\nexit\n")
    assert second.returncode == 0, second.stderr
    assert "previous results" in second.stdout
    assert "list_pipelines" not in second.stderr  # answered from the earlier evidence, no refetch


def test_a_thread_resumed_in_a_new_process_resolves_the_second_one_the_same_way(bbscout: Run) -> None:
    """The referents live in the SQLite checkpoint: a new process binds "the second one" to the second
    object the first process listed, exactly as one process asking both questions does."""
    first = bbscout(
        "chat", "--thread", "t2", "--now", NOW, input="failed builds in the last 24 hours\nexit\n"
    )
    listed = re.findall(r"• (pipeline:[\w-]+#\d+)", first.stdout)
    later = bbscout("chat", "--thread", "t2", "--now", NOW, input="who triggered the second one?\nexit\n")
    together = bbscout(
        "chat",
        "--thread",
        "t3",
        "--now",
        NOW,
        input="failed builds in the last 24 hours\nwho triggered the second one?\nexit\n",
    )
    assert len(listed) > 2 and first.returncode == later.returncode == together.returncode == 0
    bound = re.findall(r"The second one is (pipeline:[\w-]+#\d+)", later.stdout)
    assert bound == [listed[1]] == re.findall(r"The second one is (pipeline:[\w-]+#\d+)", together.stdout)
    assert "0 Bitbucket requests" in later.stderr and "0 tool calls" in later.stderr  # held, not refetched
    assert_no_traceback(later)


def start_chat(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [BBSCOUT, "chat", "--thread", "sigint", "--now", NOW],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def assert_interrupted(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT, then the chat must end by itself: stdin stays open, so no end of input rescues it."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    finally:
        proc.kill()
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.close()
        err = proc.stderr.read().decode()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Interrupted" in err


def test_ctrl_c_at_the_prompt_exits_at_once(clean_env: dict[str, str]) -> None:
    proc = start_chat(clean_env)
    assert proc.stdout is not None
    read_until(proc.stdout, b"you> ")  # the chat is waiting for a question
    assert_interrupted(proc)


def test_ctrl_c_during_a_question_exits_cleanly(clean_env: dict[str, str]) -> None:
    proc = start_chat(clean_env)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    read_until(proc.stdout, b"you> ")
    proc.stdin.write(f"{QUESTION}\n".encode())
    proc.stdin.flush()
    read_until(proc.stderr, b"plan:")  # the question is being answered
    assert_interrupted(proc)


def test_sandbox_serve_prints_working_credentials(bbscout: Run, clean_env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [BBSCOUT, "sandbox", "serve", "--port", "0", "--anchor", ANCHOR],
        env=clean_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        exports: dict[str, str] = {}
        assert proc.stdout is not None
        while len(exports) < 4:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            if line.startswith("export "):
                key, value = line.removeprefix("export ").strip().split("=", 1)
                exports[key] = value
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/2\.0", exports["BITBUCKET_BASE_URL"])
        # the exports are printed once the port listens: no waiting for the server
        result = bbscout("ask", QUESTION, "--json", "--now", NOW, env=exports)
        assert result.returncode in (0, 1), result.stderr
        assert json.loads(result.stdout)["stats"]["http_requests"] > 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert os.environ.get("BITBUCKET_API_TOKEN") is None


def test_eval_command_prints_one_json_document_and_gates(bbscout: Run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = bbscout("eval", "--cases", "repositories.yaml", "--json", "--report", str(tmp_path), timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)["summary"]
    assert summary["cases"] >= 3 and summary["crashes"] == 0 and summary["hallucinated_refs"] == 0
    assert {p.name for p in tmp_path.iterdir()} >= {"report.md", "results.json", "chart.png"}
    bad = bbscout("eval", "--faults", "nonsense")
    assert bad.returncode == 2 and "--faults" in bad.stderr

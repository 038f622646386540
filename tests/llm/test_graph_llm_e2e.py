"""The LLM path end to end: the real `openai` client over loopback HTTP to the test double, the real graph,
the sandbox world — parallel tool calls run concurrently, a second round replans from evidence, the
verifier strips an invented ref, tokens are counted, and no planted secret reaches the model; the
conversation lives in graph state, so a chat thread or an interrupted turn continues in another
process; a failing model falls back to the rules, each failure a gap."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from bbscout.agent.runtime import open_session
from bbscout.agent.settings import Settings
from bbscout.sandbox.app import create_app
from bbscout.sandbox.llm_double import LLMDoubleServer, ToolCall, Turn, tool_messages
from bbscout.sandbox.world import build_world
from bbscout.tools.bitbucket import BasicAuth, BitbucketClient

ANCHOR = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
NOW = ANCHOR + timedelta(minutes=20)
SINCE = (NOW - timedelta(hours=24)).isoformat()


def scripted_model(body: dict[str, Any]) -> Turn:
    """Plans two independent calls, then asks for one failed run's details, then stops; reports in JSON."""
    if body.get("response_format"):
        data = "\n".join(m["content"] for m in body["messages"] if isinstance(m.get("content"), str))
        real = sorted(set(re.findall(r"pipeline:[\w-]+#\d+", data)))
        return Turn.json(
            {
                "answer": f"Failed: {real[0]} and pipeline:api-gateway#99999 (invented).",
                "entities": [real[0], "pipeline:api-gateway#99999"],
                "findings": [],
                "timeline": [],
                "suspects": [],
                "ruled_out": [],
                "next_step": None,
                "confidence": "medium",
                "gaps": [],
            }
        )
    answered = tool_messages(body)
    if not answered:
        return Turn(
            tool_calls=[
                ToolCall("list_pipelines", {"results": ["FAILED", "ERROR"], "since": SINCE}),
                ToolCall("list_deployments", {"environment": "production", "latest_per_environment": True}),
            ]
        )
    if not any("pipeline_failure" in m["content"] for m in answered) and len(answered) < 3:
        listing = next(m["content"] for m in answered if "list_pipelines" in m["content"])
        repo, build = re.search(r"pipeline:([\w-]+)#(\d+)", listing).groups()  # type: ignore[union-attr]
        return Turn(tool_calls=[ToolCall("pipeline_failure", {"repo": repo, "build_number": int(build)})])
    return Turn(content="I have what I need.")


async def test_llm_planner_end_to_end_over_real_http() -> None:
    world = build_world("default", seed=7, anchor=ANCHOR)
    token = world.token("demo")
    events: list[dict[str, Any]] = []
    with LLMDoubleServer([scripted_model] * 12) as double:
        settings = Settings(
            openai_api_key="sk-test-double-key", openai_base_url=double.base_url, model="test-double"
        )
        client = BitbucketClient(
            workspace="acme",
            auth=BasicAuth(token.email, SecretStr(token.secret)),
            base_url="http://sandbox.local/2.0",
            transport=httpx.ASGITransport(app=create_app(world)),
        )
        async with open_session(settings, planner="llm", now=NOW, client=client) as session:
            result = await session.ask(
                "what pipelines failed in the last 24 hours?", now=NOW, on_event=events.append
            )
            usage = session.planner.primary.client.usage
        sent = [json.dumps(body) for body in double.requests]

    doc = result.document
    assert doc["planner"] == "llm"
    # the two first-round calls ran concurrently: both started before either finished
    order = [(e["event"], e["tool"]) for e in events if e.get("event", "").startswith("step_")]
    first_finish = next(i for i, (kind, _) in enumerate(order) if kind == "step_finished")
    assert {tool for kind, tool in order[:first_finish]} >= {"list_pipelines", "list_deployments"}
    # the second round came from the evidence, and was executed
    assert any(o.tool == "pipeline_failure" for o in result.outcomes)
    # the verifier dropped the invented ref everywhere
    assert "pipeline:api-gateway#99999" not in json.dumps(doc)
    assert doc["entities"] and all(e["ref"] != "pipeline:api-gateway#99999" for e in doc["entities"])
    # tokens: every call counted, and reported
    assert usage.calls >= 4 and doc["stats"]["llm_tokens"] == usage.total_tokens > 0
    # nothing secret reached the model: not the Bitbucket token, not the planted log secrets
    secrets = [token.secret, *world.scenarios["adversarial_content"].facts["secrets"]]
    assert not any(secret in body for body in sent for secret in secrets)
    # repository text reached the model only inside delimited data blocks
    tool_texts = [m["content"] for body in double.requests for m in tool_messages(body)]
    assert tool_texts and all("<bitbucket_data" in text for text in tool_texts)


def sandbox_client(world: Any) -> BitbucketClient:
    token = world.token("demo")
    return BitbucketClient(
        workspace="acme",
        auth=BasicAuth(token.email, SecretStr(token.secret)),
        base_url="http://sandbox.local/2.0",
        transport=httpx.ASGITransport(app=create_app(world)),
    )


def llm_settings(double: LLMDoubleServer) -> Settings:
    return Settings(openai_api_key="sk-test-double-key", openai_base_url=double.base_url, model="test-double")


def users_of(body: dict[str, Any]) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] == "user"]


FIRST = "what pipelines failed in the last 24 hours?"
SECOND = "which of those were on main?"


def chat_model(body: dict[str, Any]) -> Turn:
    """Turn 1: one listing call, then done, a report citing what it saw; turn 2: answers from turn 1."""
    text = "\n".join(m["content"] for m in body["messages"] if isinstance(m.get("content"), str))
    data = "\n".join(re.findall(r"<bitbucket_data[^>]*>(.*?)</bitbucket_data>", text, re.DOTALL))
    refs = sorted(set(re.findall(r"pipeline:[\w-]+#\d+", data)))
    if body.get("response_format"):
        return Turn.json(
            {"answer": f"Failed: {', '.join(refs)}.", "entities": refs, "findings": [], "gaps": []}
        )
    if users_of(body)[-1] == FIRST:
        return Turn(
            tool_calls=[
                ToolCall("list_pipelines", {"results": ["FAILED", "ERROR"], "since": SINCE}, id="call_t1")
            ]
        )
    if users_of(body)[-1] == SECOND:
        return Turn(content=f"From the earlier results: {refs[0]} ran on main.")
    return Turn(content="I have what I need.")


async def test_a_chat_thread_continues_its_conversation_in_a_new_process(tmp_path: Any) -> None:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    world = build_world("default", seed=7, anchor=ANCHOR)
    path = str(tmp_path / "chat.sqlite")
    with LLMDoubleServer([chat_model] * 40) as double:
        async with (
            AsyncSqliteSaver.from_conn_string(path) as saver,
            open_session(
                llm_settings(double), planner="llm", now=NOW, client=sandbox_client(world)
            ) as session,
        ):
            first = await session.ask(FIRST, now=NOW, checkpointer=saver, thread_id="oncall")
        turn_one = list(double.requests)
        double.set_script([chat_model] * 10)
        # another process: a new planner, a new LLM client and a new connection to the same SQLite file
        async with (
            AsyncSqliteSaver.from_conn_string(path) as saver,
            open_session(
                llm_settings(double), planner="llm", now=NOW, client=sandbox_client(world)
            ) as session,
        ):
            second = await session.ask(SECOND, now=NOW, checkpointer=saver, thread_id="oncall")
        turn_two = list(double.requests)

    planned = [b for b in turn_one if not b.get("response_format")]
    last_of_turn_one = planned[-1]["messages"] + [{"role": "assistant", "content": "I have what I need."}]
    sent = turn_two[0]["messages"]  # turn 2's plan: the question, after all of turn 1
    assert sent[-1] == {"role": "user", "content": SECOND}
    assert sent[1:-1] == last_of_turn_one[1:]  # turn 1 exactly as the model saw it, its answers included
    assert [c["id"] for c in sent[2]["tool_calls"]] == ["call_t1"]  # the model's own call, not a rebuilt one
    assert "pipeline:" in next(m["content"] for m in sent if m.get("tool_call_id") == "call_t1")
    assert (
        f"Last question: {FIRST}" in sent[0]["content"]
    )  # a fresh system prompt, with the thread's referents
    # the second answer came from the earlier evidence, with no new Bitbucket lookup: the writer was shown the
    # objects the first answer cited, and its refs survive the citation check
    cited = [e["ref"] for e in first.document["entities"]]
    written = next(b for b in turn_two if b.get("response_format"))
    assert (
        'tool="thread"' in written["messages"][1]["content"] and cited[0] in written["messages"][1]["content"]
    )
    assert second.outcomes == [] and [e["ref"] for e in second.document["entities"]] == cited


async def test_a_turn_interrupted_after_act_resumes_in_another_process(tmp_path: Any) -> None:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from bbscout.agent.graph import RECURSION_LIMIT, build_graph

    world = build_world("default", seed=7, anchor=ANCHOR)
    path = str(tmp_path / "chat.sqlite")
    config: Any = {"configurable": {"thread_id": "t"}, "recursion_limit": RECURSION_LIMIT}
    inputs: Any = {"question": FIRST, "now": NOW.isoformat(), "tz": "UTC", "mode": "ask"}
    with LLMDoubleServer([chat_model] * 40) as double:
        async with (
            AsyncSqliteSaver.from_conn_string(path) as saver,
            open_session(
                llm_settings(double), planner="llm", now=NOW, client=sandbox_client(world)
            ) as session,
        ):
            graph = build_graph().compile(checkpointer=saver, interrupt_after=["act"])
            await graph.ainvoke(inputs, config, context=session.context())
            assert (await graph.aget_state(config)).next == ("review",)
        double.set_script([chat_model] * 20)
        async with (
            AsyncSqliteSaver.from_conn_string(path) as saver,
            open_session(
                llm_settings(double), planner="llm", now=NOW, client=sandbox_client(world)
            ) as session,
        ):
            final = (
                await build_graph()
                .compile(checkpointer=saver)
                .ainvoke(None, config, context=session.context())
            )
        review = double.requests[0]["messages"]
    assert [m["role"] for m in review[:4]] == ["system", "user", "assistant", "tool"]
    assert review[2]["tool_calls"][0]["id"] == "call_t1" and review[3]["tool_call_id"] == "call_t1"
    assert review[-1]["role"] == "user" and "Round 1 of 3" in review[-1]["content"]
    assert final["report"]["entities"]
    # no gap but the failure summaries offered instead of read (agent.frugality)
    assert [g for g in final["gaps"] if "not looked into, to save requests" not in g] == []


async def test_llm_failures_fall_back_to_the_rules_with_a_gap_each() -> None:
    world = build_world("default", seed=7, anchor=ANCHOR)
    refused = Turn(status=401, error_message="Incorrect API key provided")

    def model(body: dict[str, Any]) -> Turn:
        first_call = len(users_of(body)) == 1 and not tool_messages(body)
        return refused if body.get("response_format") or first_call else Turn(content="nothing more")

    async with open_session(
        Settings(openai_api_key=None), planner="rules", now=NOW, client=sandbox_client(world)
    ) as session:
        rules = await session.ask(FIRST, now=NOW)
    with LLMDoubleServer([model] * 20) as double:
        async with open_session(
            llm_settings(double), planner="llm", now=NOW, client=sandbox_client(world)
        ) as session:
            result = await session.ask(FIRST, now=NOW)
        reviews = [b for b in double.requests if tool_messages(b)]
    gaps = result.report.gaps
    assert any(g.startswith("The LLM planner failed (") and "rules planner instead" in g for g in gaps)
    assert any(g.startswith("The LLM reporter failed (") and "rules templates" in g for g in gaps)
    assert result.report.answer == rules.report.answer  # the same plan, evidence and templates
    assert [e["ref"] for e in result.document["entities"]] == [e["ref"] for e in rules.document["entities"]]
    # the model still reviewed the rules plan's evidence, handed to it as synthesized calls
    assert reviews and all(
        c["id"].startswith("bbscout_") for m in reviews[0]["messages"] for c in m.get("tool_calls") or []
    )


async def test_a_failed_review_stops_reviewing_with_a_gap_and_the_answer_stands() -> None:
    world = build_world("default", seed=7, anchor=ANCHOR)

    def model(body: dict[str, Any]) -> Turn:
        if body.get("response_format") or not tool_messages(body):
            return chat_model(body)
        return Turn(status=401, error_message="Incorrect API key provided")

    with LLMDoubleServer([model] * 20) as double:
        async with open_session(
            llm_settings(double), planner="llm", now=NOW, client=sandbox_client(world)
        ) as session:
            result = await session.ask(FIRST, now=NOW)
    assert any(g.startswith("The LLM planner could not review the evidence (") for g in result.report.gaps)
    assert result.document["entities"] and result.exit_code == 1  # answered, with the gap said


THREAD = re.compile(r'<bitbucket_data tool="thread" step="referents">\n(.*?)\n</bitbucket_data>', re.DOTALL)
OPEN_PRS = "show me open pull requests"
ITS_COMMITS = "list the commits of the second one"


def referent_model(body: dict[str, Any]) -> Turn:
    """Turn 1 lists open PRs; turn 2 reads "the second one" off the thread block it was shown and makes
    the one call that answers it; the writer cites what each turn's data holds."""
    text = "\n".join(m["content"] for m in body["messages"] if isinstance(m.get("content"), str))
    if body.get("response_format"):
        question = users_of(body)[-1].split("\n", 1)[0]
        kind = r"commit:[\w-]+@[0-9a-f]{12}" if ITS_COMMITS in question else r"pr:[\w-]+#\d+"
        outcomes = text.split("Evidence (", 1)[-1]
        found = list(dict.fromkeys(re.findall(kind, outcomes)))
        return Turn.json(
            {"answer": f"Found: {', '.join(found)}.", "entities": found, "findings": [], "gaps": []}
        )
    if users_of(body)[-1].startswith("Round "):  # a review round: the one call was enough
        return Turn(content="I have what I need.")
    if users_of(body)[-1] == OPEN_PRS:
        return Turn(tool_calls=[ToolCall("list_pull_requests", {"states": ["OPEN"]}, id="call_prs")])
    block = THREAD.search(body["messages"][0]["content"])
    assert block is not None, "the planner was not shown the thread's referents"
    repo, pr_id = re.search(r"^2\. pr:([\w-]+)#(\d+)", block.group(1), re.MULTILINE).groups()  # type: ignore[union-attr]
    return Turn(
        tool_calls=[ToolCall("pull_request_commits", {"repo": repo, "pr_id": int(pr_id)}, id="call_c")]
    )


async def test_the_llm_planner_is_shown_the_threads_referents_and_makes_the_one_call(tmp_path: Any) -> None:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    world = build_world("default", seed=7, anchor=ANCHOR)
    with LLMDoubleServer([referent_model] * 20) as double:
        async with (
            AsyncSqliteSaver.from_conn_string(str(tmp_path / "chat.sqlite")) as saver,
            open_session(
                llm_settings(double), planner="llm", now=NOW, client=sandbox_client(world)
            ) as session,
        ):
            first = await session.ask(OPEN_PRS, now=NOW, checkpointer=saver, thread_id="t")
            before = len(double.requests)
            second = await session.ask(ITS_COMMITS, now=NOW, checkpointer=saver, thread_id="t")
        planned = [b for b in double.requests[before:] if not b.get("response_format")]
    listed = [e["ref"] for e in first.document["entities"]]
    shown = THREAD.search(planned[0]["messages"][0]["content"])
    assert len(listed) > 2 and shown is not None
    numbered = re.findall(r"^(\d+)\. (pr:[\w-]+#\d+)", shown.group(1), re.MULTILINE)
    assert numbered == [(str(i), ref) for i, ref in enumerate(listed, 1)]  # in the order the answer listed
    assert f"Last question: {OPEN_PRS}" in shown.group(1)
    names = {t["function"]["name"] for t in planned[0]["tools"]}
    assert {"pull_request_commits", "pull_request_files", "pull_requests_for_commit"} <= names
    assert not first.report.gaps and not second.report.gaps  # no fallback: the model's own plan ran
    (outcome,) = second.outcomes  # the one call, on the second object the first answer listed
    repo, pr_id = listed[1].split(":")[1].split("#")
    assert (outcome.tool, outcome.args) == ("pull_request_commits", {"repo": repo, "pr_id": int(pr_id)})
    commits = world.repos[repo].pr_commits[int(pr_id)]
    assert [e["ref"] for e in second.document["entities"]] == [f"commit:{repo}@{h[:12]}" for h in commits]

"""The LLM path end to end: the real `openai` client over loopback HTTP to the test double, the real graph,
the sandbox world — parallel tool calls run concurrently, a second round replans from evidence, the
verifier strips an invented ref, tokens are counted, and no planted secret reaches the model."""

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
            usage = session.planner.client.usage
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

"""Tests of the LLM path (client, tool schemas, planner, reporter) against the OpenAI test double.

Everything runs over real loopback HTTP with the real `openai.AsyncOpenAI` client; the helpers below
build the shared request/outcome fixtures and pull what the "model" was shown out of recorded bodies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from bbscout.agent.llm import LLMClient
from bbscout.agent.plan import StepOutcome
from bbscout.agent.planners.base import PlanRequest
from bbscout.tools.evidence import PipelineRecord, PullRequestRecord, RepositoryRecord

API_KEY = "sk-test-DO-NOT-LEAK-4f9c2a7e1b"
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
BLOCK_RE = re.compile(r"<bitbucket_data[^>]*>\n(.*?)\n</bitbucket_data>", re.DOTALL)


def make_client(base_url: str, **kwargs: Any) -> LLMClient:
    return LLMClient(
        api_key=SecretStr(API_KEY), base_url=base_url, model="test-model", max_retries=0, **kwargs
    )


def repo(slug: str, description: str) -> RepositoryRecord:
    return RepositoryRecord(
        ref=f"repo:{slug}",
        repo=slug,
        url=f"https://bitbucket.org/acme/{slug}",
        title=slug,
        slug=slug,
        name=slug,
        description=description,
    )


REPOS = [
    repo("api-gateway", "Edge API gateway"),
    repo("checkout", "Checkout service"),
    repo("payments", "Payment processing"),
]


def make_request(question: str = "what pipelines failed in the last 24 hours?", **kwargs: Any) -> PlanRequest:
    return PlanRequest.read(question, NOW, repositories=list(REPOS), **kwargs)


def pipeline_record(repo: str, build: int) -> PipelineRecord:
    return PipelineRecord(
        ref=f"pipeline:{repo}#{build}",
        repo=repo,
        url=f"https://bitbucket.org/acme/{repo}/pipelines/results/{build}",
        title=f"pipeline #{build} FAILED",
        uuid=f"{{p{build}}}",
        build_number=build,
        state="COMPLETED",
        result="FAILED",
        created_on=NOW,
    )


def pr_record(repo: str, pr_id: int) -> PullRequestRecord:
    return PullRequestRecord(
        ref=f"pr:{repo}#{pr_id}",
        repo=repo,
        url=f"https://bitbucket.org/acme/{repo}/pull-requests/{pr_id}",
        title=f"PR #{pr_id}",
        id=pr_id,
        state="MERGED",
        author="Priya",
        source_branch="feature/x",
        destination_branch="main",
        created_on=NOW,
        updated_on=NOW,
    )


def outcome(step_id: str, tool: str, rendered: str, **kwargs: Any) -> StepOutcome:
    return StepOutcome(step_id=step_id, tool=tool, rendered=rendered, **kwargs)


def messages_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return list(body["messages"])


def text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else json.dumps(content or "")


def all_texts(bodies: list[dict[str, Any]]) -> Iterator[str]:
    for body in bodies:
        for message in body["messages"]:
            yield text_of(message)


def outside_blocks(text: str) -> str:
    """`text` with every data block's body removed (what the model sees as non-data)."""
    return BLOCK_RE.sub("<bitbucket_data>[data]</bitbucket_data>", text)

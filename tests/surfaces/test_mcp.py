"""`bbscout mcp` through the official MCP client SDK, over stdio (a spawned process) and streamable HTTP
(a real uvicorn on loopback), against the embedded sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from bbscout.agent.settings import Settings
from bbscout.agent.surfaces.mcp_server import DOCUMENT_SCHEMA
from bbscout.tools.registry import TOOLS
from tests.surfaces.conftest import BBSCOUT, NOW, listening, save_plain

Connect = Callable[[], AbstractAsyncContextManager[Client]]


@pytest.fixture(params=["stdio", "http"])
def connect(request: pytest.FixtureRequest, clean_env: dict[str, str]) -> Connect:
    """Opens a client in the test's own task (anyio scopes must close where they opened)."""

    @asynccontextmanager
    async def opened() -> AsyncIterator[Client]:
        if request.param == "stdio":
            params = StdioServerParameters(command=BBSCOUT, args=["mcp", "--now", NOW], env=clean_env)
            async with Client(params, read_timeout_seconds=90) as connected:
                yield connected
            return
        args = ("mcp", "--transport", "http", "--port", "0", "--now", NOW)
        async with (
            listening(*args, env=clean_env, banner=r"on (?P<url>http://\S+/mcp)") as url,
            Client(url, read_timeout_seconds=90) as connected,
        ):
            yield connected

    return opened


def text_of(result: Any) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


async def test_lists_ask_investigate_and_every_tool_with_valid_schemas(connect: Connect) -> None:
    async with connect() as client:
        listed = (await client.list_tools()).tools
        names = [t.name for t in listed]
        assert names == ["ask", "investigate", *TOOLS]
        for tool in listed:
            jsonschema.Draft202012Validator.check_schema(tool.input_schema)
            assert tool.input_schema["type"] == "object"
            assert tool.output_schema is not None
            jsonschema.Draft202012Validator.check_schema(tool.output_schema)
            assert tool.annotations is not None and tool.annotations.read_only_hint is True
            assert len(tool.description or "") > 80, f"{tool.name}: a model needs more than a name to choose"
        by_name = {t.name: t for t in listed}
        assert by_name["ask"].input_schema["required"] == ["question"]
        assert by_name["investigate"].input_schema["required"] == ["symptom"]  # `at` may be in its words
        # the raw tools' schemas are their argument models': unknown keys are refused, hints are carried
        pipelines = by_name["list_pipelines"].input_schema
        assert pipelines["additionalProperties"] is False
        assert "ISO-8601" in pipelines["properties"]["since"]["description"]


async def test_ask_investigate_a_raw_tool_and_a_thread(connect: Connect) -> None:
    async with connect() as client:
        await check_raw_tool(client)  # first: on a fresh server it makes its own requests
        result = await client.call_tool("ask", {"question": "What pipelines failed in the last 24 hours?"})
        assert result.is_error is False
        document = result.structured_content
        jsonschema.validate(document, DOCUMENT_SCHEMA)
        assert document["question"] == "What pipelines failed in the last 24 hours?"
        assert document["now"] == NOW
        assert document["source"] == "sandbox"  # no Bitbucket setting: the embedded world, and it says so
        failed = [e for e in document["entities"] if e["type"] == "pipeline"]
        assert len(failed) == 5  # the sandbox's planted failures in that window (README transcript)
        text = text_of(result)
        assert document["answer"].split("\n")[0] in text
        for entity in failed:  # every ref in the text, with its link
            assert f"{entity['ref']}: {entity['url']}" in text
            assert entity["url"].startswith("https://bitbucket.org/acme/")
        await check_investigate(client)
        await check_thread(client)
        await check_refusal(client)


async def check_raw_tool(client: Client) -> None:
    """(part of the session test: one server process per transport)"""
    result = await client.call_tool(
        "list_pipelines",
        {
            "results": ["FAILED", "ERROR"],
            "since": "2026-11-28T16:20:00Z",
            "until": "2026-11-29T16:20:00Z",
        },
    )
    assert result.is_error is False
    records = result.structured_content["records"]
    assert len(records) == 5
    assert {r["result"] for r in records} <= {"FAILED", "ERROR"}
    assert result.structured_content["requests"] > 0
    assert records[0]["ref"] in text_of(result)


BAD_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("get_pipeline", {"repo": "api-gateway"}, "build_number: Field required"),
    ("get_pipeline", {"repo": "api-gateway", "build_number": "two"}, "build_number"),
    ("list_pipelines", {"colour": "red"}, "colour"),
    ("ask", {"question": ""}, "question"),
    ("investigate", {"symptom": "checkout 504s", "at": "yesterday-ish"}, "at"),
    ("nope", {}, "Unknown tool 'nope'"),
    ("get_pipeline", {"repo": "no-such-repo", "build_number": 1}, "404"),
]


async def test_bad_arguments_are_tool_errors_and_the_server_lives_on(connect: Connect) -> None:
    async with connect() as client:
        for tool, arguments, says in BAD_CALLS:
            result = await client.call_tool(tool, arguments)
            assert result.is_error is True, (tool, arguments)
            assert says in text_of(result), text_of(result)
            assert "Traceback" not in text_of(result)
        after = await client.call_tool("list_repositories", {})
        assert after.is_error is False and len(after.structured_content["records"]) == 10


async def check_investigate(client: Client) -> None:
    """(part of the session test: one server process per transport)"""
    result = await client.call_tool(
        "investigate",
        {
            "symptom": "checkout requests failing with payment timeouts (HTTP 504)",
            "at": "2026-11-29T13:05:00Z",
        },
    )
    assert result.is_error is False
    document = result.structured_content
    suspects = [f for f in document["findings"] if f["title"].startswith("Suspect #1")]
    assert suspects and "pr:checkout-service#68" in suspects[0]["title"]
    unsaid = await client.call_tool("investigate", {"symptom": "checkout requests failing"})
    assert unsaid.is_error is True  # no time given nor said: a tool error saying how to give one
    assert "the time the symptom began" in unsaid.content[0].text  # type: ignore[union-attr]


async def check_thread(client: Client) -> None:
    """(part of the session test: one server process per transport)"""
    first = await client.call_tool(
        "ask", {"question": "What pipelines failed in the last 24 hours?", "thread": "mcp-oncall"}
    )
    listed = [e["ref"] for e in first.structured_content["entities"]]
    second = await client.call_tool(
        "ask", {"question": "show me the log of the second one", "thread": "mcp-oncall"}
    )
    assert second.is_error is False
    cited = [e["ref"] for e in second.structured_content["entities"]]
    assert listed[1] in cited, (listed, cited)


async def check_refusal(client: Client) -> None:
    """(part of the session test) A request to act: not an error, `refused` in the structured content,
    the first line of the text says read-only, and the help's records come with their links."""
    result = await client.call_tool("ask", {"question": "please roll back payments-service in production"})
    assert result.is_error is False
    document = result.structured_content
    jsonschema.validate(document, DOCUMENT_SCHEMA)
    assert document["refused"] == "read-only"
    text = text_of(result)
    assert text.splitlines()[0].startswith("**bbscout is read-only, so I did not roll back payments-service")
    live, previous = document["entities"]
    assert live["type"] == previous["type"] == "deployment"
    assert f"{previous['ref']}: {previous['url']}" in text
    retried = await client.call_tool("ask", {"question": "retry the second one", "thread": "mcp-oncall"})
    assert retried.structured_content["refused"] == "read-only"
    assert [e["type"] for e in retried.structured_content["entities"]] == ["pipeline"]


def test_the_cli_does_not_import_the_integration_packages(clean_env: dict[str, str]) -> None:
    code = (
        "import sys\nfrom bbscout.agent.cli import app\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(loaded & {'mcp', 'mcp_types', 'slack_bolt', 'slack_sdk'}))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], env=clean_env, capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == "[]"
    helped = subprocess.run([BBSCOUT, "--help"], env=clean_env, capture_output=True, text=True, check=True)
    assert "mcp" in helped.stdout and "slack" in helped.stdout


async def test_mcp_answers_on_the_saved_connection_with_the_shared_cache_ledger_and_budget(
    clean_env: dict[str, str], bitbucket: Settings, tmp_path: Path
) -> None:
    """`bbscout mcp --connection NAME` spends the hourly ledger that every other process reads, fills
    the cache that a later `bbscout ask` of the same connection reuses, and keeps the per-question budget."""
    from bbscout.tools.bitbucket import BasicAuth, credential_identity, open_store

    assert bitbucket.api_token is not None and bitbucket.email is not None
    save_plain(Path(clean_env["BBSCOUT_CONFIG"]), "Prod", bitbucket)
    env = clean_env | {"BBSCOUT_CACHE_DIR": str(tmp_path / "cache")}
    question = {"question": "What pipelines failed in the last 24 hours?"}
    params = StdioServerParameters(
        command=BBSCOUT, args=["mcp", "--connection", "Prod", "--now", NOW], env=env
    )
    async with Client(params, read_timeout_seconds=90) as client:
        answered = (await client.call_tool("ask", question)).structured_content
    sent, limit = answered["stats"]["http_requests"], answered["stats"]["hourly_limit"]
    assert sent > 0 and answered["stats"]["requests_left_from"] == "ledger"
    ledger = f"127.0.0.1|{credential_identity(BasicAuth(bitbucket.email, bitbucket.api_token))}"

    async def used() -> int:  # the ledger every process of this credential counts in
        store = open_store(path=str(tmp_path / "cache" / "cache.sqlite"))
        try:
            return (await store.usage(ledger, time.time())).used
        finally:
            await store.aclose()

    by_mcp = await used()
    assert by_mcp >= sent and answered["stats"]["requests_left_this_hour"] == limit - by_mcp
    cli = subprocess.run(
        [
            BBSCOUT,
            "ask",
            question["question"],
            "--json",
            "--connection",
            "Prod",
            "--now",
            NOW,
            "--planner",
            "rules",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    stats = json.loads(cli.stdout)["stats"]
    assert stats["cache_hits"] > 0  # what MCP read and cannot change, the CLI did not ask for again
    by_both = await used()
    assert by_both >= by_mcp + stats["http_requests"] and stats["requests_left_this_hour"] == limit - by_both
    tight = StdioServerParameters(
        command=BBSCOUT,
        args=["mcp", "--connection", "Prod", "--now", NOW],
        env=env | {"BBSCOUT_REQUEST_BUDGET": "3"},
    )
    async with Client(tight, read_timeout_seconds=90) as client:
        spent = (
            # not pipelines: the pages of completed runs read above are kept and cost no budget
            await client.call_tool(
                "ask", {"question": "Which pull requests were merged in the last two weeks?"}
            )
        ).structured_content
    assert "request budget spent" in spent["gaps"]  # the per-question budget of BBSCOUT_REQUEST_BUDGET


def test_mcp_refuses_an_unknown_connection_before_serving(clean_env: dict[str, str]) -> None:
    shown = subprocess.run(
        [BBSCOUT, "mcp", "--connection", "Nope"], env=clean_env, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 2 and "No connection named 'Nope'" in shown.stderr
    assert "Traceback" not in shown.stderr

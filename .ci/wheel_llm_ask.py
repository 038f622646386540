"""`bbscout ask --planner llm` from an installed wheel, against the sandbox's LLM test double.

Run by .ci/wheel-check with the fresh virtualenv's Python, outside the clone. The double
(`bbscout.sandbox.llm_double`, shipped in the wheel) serves the OpenAI Chat Completions API over real
HTTP on a loopback port; the installed `bbscout` console script talks to it with the real `openai`
client and answers from the embedded sandbox. The scripted model speaks only the wire format: it
lists failed pipelines, stops, then answers in whatever JSON schema the reporter asks for, citing a
ref the tools returned. Exits non-zero, saying why, when anything is off.

Usage: python wheel_llm_ask.py QUESTION NOW
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from typing import Any

from bbscout.sandbox.llm_double import LLMDoubleServer, ToolCall, Turn, tool_messages

REF = re.compile(r"pipeline:[\w.-]+#\d+")


def fill(schema: dict[str, Any], defs: dict[str, Any], special: dict[str, Any]) -> Any:
    """The plainest value `schema` accepts; object properties named in `special` take that value."""
    if "$ref" in schema:
        return fill(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, special)
    if "anyOf" in schema:
        options = schema["anyOf"]
        nullable = any(o.get("type") == "null" for o in options)
        return None if nullable else fill(options[0], defs, special)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        return None if "null" in kind else fill({**schema, "type": kind[0]}, defs, special)
    if kind == "object":
        properties = schema.get("properties", {})
        return {
            name: special[name] if name in special else fill(properties[name], defs, special)
            for name in schema.get("required", properties)
        }
    return {"array": [], "string": "", "integer": 0, "number": 0, "boolean": False, "null": None}[kind]


def scripted_model(since: str) -> Any:
    def reply(body: dict[str, Any]) -> Turn:
        seen = " ".join(str(m.get("content") or "") for m in body["messages"])
        if body.get("response_format"):
            refs = sorted(set(REF.findall(seen)))
            if not refs:
                return Turn(content="test double: the reporter was shown no pipeline refs", status=500)
            schema = body["response_format"]["json_schema"]["schema"]
            answer = f"Among the pipelines that failed in the last 24 hours: {refs[0]}."
            return Turn.json(fill(schema, schema.get("$defs", {}), {"answer": answer, "entities": refs[:1]}))
        if not tool_messages(body):
            return Turn(
                tool_calls=[ToolCall("list_pipelines", {"results": ["FAILED", "ERROR"], "since": since})]
            )
        return Turn(content="I have what I need.")

    return reply


def main() -> int:
    question, now = sys.argv[1], sys.argv[2]
    since = (datetime.fromisoformat(now) - timedelta(hours=24)).isoformat()
    with LLMDoubleServer([scripted_model(since)] * 10) as double:
        env = {
            **os.environ,
            "OPENAI_API_KEY": "sk-wheel-check",
            "OPENAI_BASE_URL": double.base_url,
            "BBSCOUT_MODEL": "test-double",
        }
        result = subprocess.run(
            ["bbscout", "ask", question, "--planner", "llm", "--now", now, "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        requests = list(double.requests)
    problems = []
    if result.returncode not in (0, 1):
        problems.append(f"bbscout exited {result.returncode}:\n{result.stderr[-3000:]}")
        doc: dict[str, Any] = {}
    else:
        doc = json.loads(result.stdout)
    if doc:
        if doc["planner"] != "llm":
            problems.append(f"planner is {doc['planner']!r}, expected 'llm'")
        if doc["source"] != "sandbox":
            problems.append(f"source is {doc['source']!r}, expected 'sandbox'")
        cited = [e["ref"] for e in doc["entities"]]
        if len(cited) != 1 or cited[0] not in doc["answer"]:
            problems.append(
                f"the answer does not cite the one ref the model gave: {cited} / {doc['answer']!r}"
            )
        if not doc["stats"]["llm_tokens"]:
            problems.append("no LLM tokens counted")
    planned = [r for r in requests if r.get("tools")]
    reported = [r for r in requests if r.get("response_format")]
    if not planned or not reported:
        problems.append(f"the double saw {len(planned)} planning and {len(reported)} reporting requests")
    for problem in problems:
        print("wheel_llm_ask:", problem, file=sys.stderr)
    if not problems:
        print(f"answered over the LLM path ({len(requests)} model requests): {doc['answer']}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

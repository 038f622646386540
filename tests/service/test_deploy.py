"""`langgraph.json`: its graph loads, and a follow-up sees the earlier turn through a checkpointer."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from tests.service.conftest import NOW

ROOT = Path(__file__).resolve().parents[2]


def test_langgraph_json_names_a_compiled_graph() -> None:
    spec = json.loads((ROOT / "langgraph.json").read_text())
    path, _, name = spec["graphs"]["bbscout"].partition(":")
    module_spec = importlib.util.spec_from_file_location("deploy_under_test", ROOT / path)
    assert module_spec and module_spec.loader
    assert path == "./agent/deploy.py" and spec["dependencies"] == ["."]
    from bbscout.agent import deploy

    assert getattr(deploy, name).name == "bbscout"


async def test_a_follow_up_uses_the_previous_turn(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in (
        "BITBUCKET_API_TOKEN",
        "BITBUCKET_ACCESS_TOKEN",
        "BITBUCKET_WORKSPACE",
        "BITBUCKET_EMAIL",
        "OPENAI_API_KEY",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("BBSCOUT_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("BBSCOUT_DATA_DIR", str(tmp_path / "data"))
    from bbscout.agent.deploy import build_deploy_graph

    graph = build_deploy_graph().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "studio"}}
    first = await graph.ainvoke(
        {"question": "What pipelines failed in the last 24 hours?", "now": NOW}, config
    )
    earlier = {r["ref"] for r in first["previous"]["primary"]}
    assert earlier and all(ref.startswith("pipeline:") for ref in earlier)
    follow = await graph.ainvoke({"question": "which of those were on main?", "now": NOW}, config)
    later = {r["ref"] for r in follow["previous"]["primary"]}
    assert later and later < earlier and follow["turns"] == 2

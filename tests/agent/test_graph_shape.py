"""The graph stays small enough to read at a glance: plan → act ⇄ review → report."""

from __future__ import annotations

from bbscout.agent.graph import build_graph

EXPECTED_EDGES = {
    ("__start__", "plan"),
    ("plan", "act"),
    ("act", "act"),
    ("act", "review"),
    ("review", "act"),
    ("review", "report"),
    ("report", "__end__"),
}


def test_graph_wiring_snapshot() -> None:
    drawn = build_graph().compile().get_graph()
    assert set(drawn.nodes) == {"__start__", "plan", "act", "review", "report", "__end__"}
    assert {(e.source, e.target) for e in drawn.edges} == EXPECTED_EDGES
    mermaid = drawn.draw_mermaid()
    assert "review -.-> act;" in mermaid and "plan --> act;" in mermaid

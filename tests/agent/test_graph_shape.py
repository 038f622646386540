"""The graph stays small enough to read at a glance: intake → guard → plan → act ⇄ review → report."""

from __future__ import annotations

import re
from pathlib import Path

from bbscout.agent.graph import build_graph

README = Path(__file__).resolve().parents[2] / "README.md"

EXPECTED_EDGES = {
    ("__start__", "intake"),
    ("intake", "guard"),
    ("guard", "plan"),
    ("plan", "act"),
    ("act", "act"),
    ("act", "review"),
    ("review", "act"),
    ("review", "report"),
    ("report", "__end__"),
}

MERMAID = """\
---
config:
  flowchart:
    curve: linear
---
graph TD;
\t__start__([<p>__start__</p>]):::first
\tintake(intake)
\tguard(guard)
\tplan(plan)
\tact(act)
\treview(review)
\treport(report)
\t__end__([<p>__end__</p>]):::last
\t__start__ --> intake;
\tact -.-> review;
\tguard --> plan;
\tintake --> guard;
\tplan --> act;
\treview -.-> act;
\treview -.-> report;
\treport --> __end__;
\tact -.-> act;
\tclassDef default fill:#f2f0ff,line-height:1.2
\tclassDef first fill-opacity:0
\tclassDef last fill:#bfb6fc
"""


def test_graph_wiring_snapshot() -> None:
    drawn = build_graph().compile().get_graph()
    assert set(drawn.nodes) == {"__start__", "intake", "guard", "plan", "act", "review", "report", "__end__"}
    assert {(e.source, e.target) for e in drawn.edges} == EXPECTED_EDGES
    assert drawn.draw_mermaid() == MERMAID


def edges(mermaid: str) -> set[str]:
    return {line.strip() for line in mermaid.splitlines() if "-->" in line or "-.->" in line}


def test_readme_draws_the_graph_as_it_is() -> None:
    (drawing,) = re.findall(r"```mermaid\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert edges(drawing) == edges(MERMAID)

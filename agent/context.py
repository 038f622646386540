"""Run-scoped collaborators, read by nodes through `Runtime[Context]` (not serialised)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bbscout.agent.planners.base import Planner
from bbscout.agent.reporters.base import Reporter
from bbscout.tools.context import ToolContext


@dataclass(kw_only=True)
class Context:
    """What a run needs besides its state: the tools, the planner and reporter, and the bounds."""

    tools: ToolContext = field(metadata={"description": "Bitbucket client + workspace for the tools."})
    planner: Planner = field(metadata={"description": "rules, or llm with the rules fallback."})
    reporter: Reporter = field(metadata={"description": "rules templates, or the LLM's with their fallback."})
    max_rounds: int = field(default=3, metadata={"description": "act/review rounds before reporting."})
    max_follow_ups: int = field(default=8, metadata={"description": "follow-up steps per review round."})

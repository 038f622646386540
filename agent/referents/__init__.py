"""A chat thread's referents: the objects each answer cited, and follow-ups that point at them.

"who opened the oldest one?", "why did it fail?", "which files does the first one change?", "#283",
"that PR", "the build": `reading` finds the pointer and what is asked, `binding` binds the pointer to
what the thread cited (or names the candidates when it could mean several), `asks` says what answering
costs (nothing when the thread holds it, else the one call that reads it), and `thread` keeps the
referents in graph state from turn to turn. The rules planner plans with them
(`agent.planners.followups`); the LLM planner is shown them (`thread.prompt_block`); the read-only guard
binds "roll it back" with the same `binding`.
"""

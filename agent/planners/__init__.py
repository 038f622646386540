"""Planners: turn a question into a typed Plan (rules: offline; llm: OpenAI-compatible)."""

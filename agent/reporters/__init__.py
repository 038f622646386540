"""Reporters: turn evidence into a Report (rules templates or an LLM)."""

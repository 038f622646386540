"""bbscout: agent."""

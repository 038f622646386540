"""bbscout: tools."""

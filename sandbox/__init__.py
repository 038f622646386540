"""bbscout: sandbox."""

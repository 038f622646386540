"""bbscout: sandbox/world."""

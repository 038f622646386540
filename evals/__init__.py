"""bbscout: evals."""

"""The documented exit codes (README): a module of its own so the CLI can name them without importing
the runtime (langgraph, the sandbox) before it has work to do."""

EXIT_OK, EXIT_GAPS, EXIT_USAGE, EXIT_REFUSED, EXIT_RATE_LIMITED = 0, 1, 2, 3, 4

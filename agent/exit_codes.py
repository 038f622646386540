"""The documented exit codes (README): a module of its own so the CLI can name them without importing
the runtime (langgraph, the sandbox) before it has work to do."""

EXIT_OK, EXIT_GAPS, EXIT_USAGE, EXIT_REFUSED, EXIT_RATE_LIMITED, EXIT_UNREACHABLE = 0, 1, 2, 3, 4, 5
# Error kinds that mean "Bitbucket unreachable or answered garbage" (timeouts, invalid JSON, 5xx).
UNREACHABLE_ERRORS = frozenset({"TransportFailure", "DeadlineExceeded", "ServerError", "InvalidResponse"})

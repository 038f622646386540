"""The documented exit codes, shared by the CLI and the rules that grade a finished run."""

EXIT_OK = 0  # answered
EXIT_GAPS = 1  # answered, with gaps (something could not be seen)
EXIT_USAGE = 2  # usage or configuration error
EXIT_REFUSED = 3  # Bitbucket refused (401/403/404)
EXIT_RATE_LIMITED = 4  # rate limited beyond the budget

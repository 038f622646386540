"""Where incidents happen: the MCP server, the Slack app and the incident webhooks.

Each surface turns its medium's request into a `service.runner.Question`, runs it through the one
entry point every surface shares (`Runner.resolve` then `Runner.ask`, over `Session.ask`) and
renders the finished run for its medium; text from Bitbucket is neutralised for that medium at this
last step (`agent.neutralize`). Slack's Events endpoint and the webhooks are mounted on `bbscout serve`
(`mount`); `bbscout mcp` and `bbscout slack` (Socket Mode) run the same runner in their own process.
None of these modules is imported by the CLI until its command runs, so `bbscout --help` needs none
of the integration packages.
"""

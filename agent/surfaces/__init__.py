"""Where incidents happen: the MCP server, the Slack app and the incident webhooks.

Each surface turns its medium's request into a `surfaces.asker.Question`, runs it through the one
session entry point (`Session.ask`, via `Asker`) and renders the finished run for its medium; text
from Bitbucket is neutralised for that medium at this last step. None of these modules is imported
by the CLI until its command runs, so `bbscout --help` needs none of the integration packages.
"""

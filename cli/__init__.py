"""The `eventreplay` command line."""

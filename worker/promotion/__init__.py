"""The promotion Job: an approved report's delta from the sandbox into the sink, exactly once."""

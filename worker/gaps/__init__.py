"""The gap-finder Job: source events that never reached the sink (`finder`), grouped into gaps per
partition and failure windows across partitions (`grouping`)."""

"""The gap-finder Job: source events that never reached the sink (`finder`), grouped into gaps per
partition and outages across partitions (`grouping`)."""

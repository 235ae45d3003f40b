"""The combine Job of a windowed-aggregate replay: the sandbox merged into one result per
(window, key) (`combine`), from the pure window assignment and aggregation (`aggregator`)."""

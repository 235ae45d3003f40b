"""The replay Job: one partition's frozen range, validated, de-duplicated, transformed and written
exactly once into the sandbox topic (`engine` drives `batch`; `validate`, `transform`,
`dead_letter`, `poison`, `progress_mirror`, `metrics` are its parts)."""

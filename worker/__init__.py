"""The worker image's Jobs, one wing each: `replay` (one partition into the sandbox), `windows`
(combine an aggregate replay's sandbox into window results), `reconciliation` (sandbox against the
existing output), `promotion` (a report's delta into the sink), `gaps` (source events that never
reached the sink); `ledger` holds the Redis ledgers they share, `runtime` the harness, loop and
clients every Job runs on, `contract` what crosses a process boundary. `jobs` lists the Jobs."""

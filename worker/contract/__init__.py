"""The worker's cross-process contract: everything another process builds, names or reads back.

The operator and the CLI import only this package from the worker; it imports nothing of theirs.
`names` (topics, groups, transactional ids, Redis keys, env vars), `headers` (the `er-*` Kafka
headers), `defaults`, `exit_codes`, `tasks` / `step_tasks` (what a Job is given), `checkpoints`
and `summaries` (what it writes back), `settings`, `kafka_clients` (how every process connects
to Kafka and resolves offsets).
"""

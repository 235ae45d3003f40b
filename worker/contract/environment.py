"""The environment variables of the worker's pods: set by the operator's Jobs and by `eventreplay run`,
read by `python -m eventreplay.worker` (the log format also by the operator).

One definition each; a Job's task names the Secret-filled ones (`settingsEnv`, `passwordEnv`, ...)
instead of carrying a secret. Renaming one breaks every Job built by an older operator.
"""

from __future__ import annotations

TASK_ENV = "EVENTREPLAY_TASK"
"""The replay task as JSON (instead of `run --task FILE`)."""
RECONCILE_TASK_ENV = "EVENTREPLAY_RECONCILE_TASK"
"""The reconciliation task as JSON (instead of `reconcile --task FILE`)."""
PROMOTE_TASK_ENV = "EVENTREPLAY_PROMOTE_TASK"
"""The promotion task as JSON (instead of `promote --task FILE`)."""
COMBINE_TASK_ENV = "EVENTREPLAY_COMBINE_TASK"
"""The combine task as JSON (instead of `combine --task FILE`)."""
GAP_TASK_ENV = "EVENTREPLAY_GAP_TASK"
"""The gap finder's task as JSON (`eventreplay gaps` runs `python -m eventreplay.worker gaps`)."""
KAFKA_SETTINGS_ENV = "EVENTREPLAY_KAFKA_SETTINGS"
"""librdkafka `key=value` lines from the replay's credentials Secret (a task's `settingsEnv`)."""
KAFKA_CA_ENV = "EVENTREPLAY_KAFKA_CA"
"""The cluster's CA bundle (PEM) from the Secret the replay policy names (a task's `caEnv`)."""
SCHEMA_REGISTRY_CREDENTIALS_ENV = "EVENTREPLAY_SCHEMA_REGISTRY_CREDENTIALS"
"""The source's schema registry's `user:password` from the replay's Secret (a task's `credentialsEnv`)."""
SINK_SCHEMA_REGISTRY_CREDENTIALS_ENV = "EVENTREPLAY_SINK_SCHEMA_REGISTRY_CREDENTIALS"
"""The sink's schema registry's `user:password`, the same way."""
REDIS_PASSWORD_ENV = "EVENTREPLAY_REDIS_PASSWORD"
"""The Redis password from the replay's Secret (a task's `passwordEnv`)."""
REDIS_USERNAME_ENV = "EVENTREPLAY_REDIS_USERNAME"
"""The Redis ACL user of the replay's project, from the Secret its policy names (a task's `usernameEnv`)."""
TERMINATION_LOG_ENV = "EVENTREPLAY_TERMINATION_LOG"
"""Where a worker writes its termination message (default /dev/termination-log; the CLI moves it)."""
METRICS_PORT_ENV = "EVENTREPLAY_METRICS_PORT"
"""Port of a worker's Prometheus endpoint; unset means none (the CLI's parallel workers)."""
LOG_LEVEL_ENV = "EVENTREPLAY_LOG_LEVEL"
"""Log level of a worker process (default INFO)."""
LOG_FORMAT_ENV = "EVENTREPLAY_LOG_FORMAT"
"""`text` (default) or `json` log lines (`contract.log_lines`), for the worker and the operator alike."""

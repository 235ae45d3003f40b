"""Operator configuration: flags and environment (never the CR) decide images, namespaces, commands.

A tenant who can create EventReplays must not gain "create arbitrary pods" through the operator,
so the worker image comes from this configuration (a CR may only pick an allowlisted one) and
the command, user and security context are fixed here.
"""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eventreplay.worker.contract.environment import LOG_FORMAT_ENV
from eventreplay.worker.contract.log_lines import LOG_FORMATS, TEXT, parse_log_format
from eventreplay.worker.contract.settings import parse_settings

from .policy import Own, Policy, load
from .worker_pod import WORKER_POD_ENV, WorkerPod, parse

DEFAULT_IMAGE = "ghcr.io/eventreplay/eventreplay:0.2.0"
DEFAULT_COMMAND = ("python", "-m", "eventreplay.worker", "run")
DEFAULT_UID = 65532
"""The image's non-root user (the distroless `nonroot` uid)."""


@dataclass(frozen=True)
class OperatorConfig:
    namespaces: tuple[str, ...] = ()
    """Namespaces to watch; empty means cluster-wide."""
    worker_image: str = DEFAULT_IMAGE
    image_allowlist: frozenset[str] = frozenset()
    """Images a spec.worker.image may name (the default image is always allowed)."""
    worker_command: tuple[str, ...] = DEFAULT_COMMAND
    run_as_user: int | None = DEFAULT_UID
    """The worker pods' uid and gid; None leaves them to the platform (OpenShift assigns one per
    namespace and refuses a fixed one). From --worker-run-as-user / EVENTREPLAY_WORKER_RUN_AS_USER."""
    kafka_settings: dict[str, str] = field(default_factory=dict)
    """The operator's own librdkafka settings (for planning), from EVENTREPLAY_OPERATOR_KAFKA_SETTINGS."""
    redis_password: str | None = None
    """The operator's own Redis password for reading checkpoints (EVENTREPLAY_OPERATOR_REDIS_PASSWORD)."""
    liveness: str | None = "http://0.0.0.0:8080/healthz"
    status_interval: float = 5.0
    """Seconds between two status passes per replay (the status timer's interval)."""
    policy: Policy = field(default_factory=Policy)
    """The platform's tenant policy (EVENTREPLAY_POLICY_FILE); `Policy()` allows nothing, and without a
    file the operator lends only what it is configured with itself (`policy.closed_default`)."""
    max_unbounded_existing_records: int = 1_000_000
    """An offsets-window replay without an explicit existing-output window would make reconcile read
    the whole retained destination (its working set in Redis grows with it): above this many
    records the replay stalls with ExistingOutputUnbounded instead."""
    finished_job_ttl: int = 600
    """Seconds a finished Job (and its pods) of a promoted replay is kept: the operator sets the
    Job's ttlSecondsAfterFinished once the outcome is recorded in status, and Kubernetes' TTL
    controller deletes both. Failed and running replays keep theirs (they are the evidence)."""
    log_format: str = TEXT
    """`text` or `json` log lines (`--log-format`, EVENTREPLAY_LOG_FORMAT)."""
    worker_pod: WorkerPod = field(default_factory=WorkerPod)
    """Every worker pod's placement and pull settings (EVENTREPLAY_WORKER_POD, JSON: the chart's
    `worker.pod`); a policy project's `workerPod` extends them (`worker_pod.merged`)."""

    def allowed(self, image: str) -> bool:
        return image == self.worker_image or image in self.image_allowlist


# Flags that default to an environment variable: (flag, variable, fallback, type, help).
_ENV_FLAGS: tuple[tuple[str, str, str, Callable[[str], Any], str], ...] = (
    ("--worker-image", "EVENTREPLAY_WORKER_IMAGE", DEFAULT_IMAGE, str, "the worker image"),
    (
        "--worker-command",
        "EVENTREPLAY_WORKER_COMMAND",
        shlex.join(DEFAULT_COMMAND),
        str,
        "the worker container's command (shell-quoted)",
    ),
    (
        "--liveness",
        "EVENTREPLAY_LIVENESS",
        "http://0.0.0.0:8080/healthz",
        str,
        "health endpoint URL; 'none' to disable",
    ),
    ("--status-interval", "EVENTREPLAY_STATUS_INTERVAL", "5", float, "seconds between two status passes per replay"),
    (
        "--finished-job-ttl",
        "EVENTREPLAY_FINISHED_JOB_TTL",
        "600",
        int,
        "seconds a promoted replay's finished Jobs and pods are kept",
    ),
    (
        "--kafka-bootstrap-servers",
        "EVENTREPLAY_OPERATOR_KAFKA_BOOTSTRAP_SERVERS",
        "",
        str,
        "the operator's own Kafka cluster (host:port,...), the only one replays may use without a policy",
    ),
    (
        "--worker-run-as-user",
        "EVENTREPLAY_WORKER_RUN_AS_USER",
        str(DEFAULT_UID),
        str,
        "uid and gid of the worker pods, or 'none' to let the platform assign one",
    ),
    ("--log-format", LOG_FORMAT_ENV, TEXT, str.lower, f"log lines as text or JSON ({', '.join(LOG_FORMATS)})"),
)


# The operator's own endpoints, repeatable flags each defaulting to a comma-separated variable.
_OWN_ENDPOINTS = (
    ("--redis-address", "EVENTREPLAY_OPERATOR_REDIS_ADDRESSES", "Redis (host:port)"),
    ("--schema-registry-url", "EVENTREPLAY_OPERATOR_SCHEMA_REGISTRY_URLS", "schema registry (base URL)"),
)


def _parser(env: dict[str, str]) -> argparse.ArgumentParser:
    """The operator's flags, each defaulting to its environment variable."""
    parser = argparse.ArgumentParser(prog="python -m eventreplay.operator", description="The EventReplay operator.")
    parser.add_argument(
        "--namespace",
        "-n",
        action="append",
        default=None,
        help="watch this namespace (repeatable; default EVENTREPLAY_NAMESPACES, comma-separated; "
        "neither means cluster-wide)",
    )
    for flag, variable, fallback, kind, text in _ENV_FLAGS:
        extra: dict[str, Any] = {"choices": LOG_FORMATS} if flag == "--log-format" else {}
        default = kind(env.get(variable) or fallback)
        help_text = f"{text} (default {variable}, else {fallback or 'none'})"
        parser.add_argument(flag, type=kind, default=default, help=help_text, **extra)
    parser.add_argument(
        "--policy-file",
        default=env.get("EVENTREPLAY_POLICY_FILE") or None,
        help="the tenant policy (YAML); default EVENTREPLAY_POLICY_FILE; neither: replays may use only the "
        "operator's own Kafka and Redis (below), built-in transforms and its own Secret names",
    )
    for flag, variable, what in _OWN_ENDPOINTS:
        parser.add_argument(
            flag,
            action="append",
            default=None,
            help=f"the operator's own {what} (repeatable; default {variable}, comma-separated), the only one "
            "replays may use without a policy",
        )
    return parser


def _csv(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def own(args: argparse.Namespace, env: dict[str, str], images: frozenset[str]) -> Own:
    """What the operator is configured with: all a closed default lends (the Secret names are those
    of the operator's own Kafka settings and Redis password, EVENTREPLAY_OPERATOR_SECRET_NAMES)."""
    return Own(
        kafka_servers=_csv(args.kafka_bootstrap_servers),
        redis_addresses=tuple(args.redis_address or _csv(env.get("EVENTREPLAY_OPERATOR_REDIS_ADDRESSES", ""))),
        schema_registry_urls=tuple(
            args.schema_registry_url or _csv(env.get("EVENTREPLAY_OPERATOR_SCHEMA_REGISTRY_URLS", ""))
        ),
        secrets=_csv(env.get("EVENTREPLAY_OPERATOR_SECRET_NAMES", "")),
        images=tuple(sorted(images)),
    )


def from_args(argv: list[str] | None = None, env: dict[str, str] | None = None) -> OperatorConfig:
    env = dict(os.environ) if env is None else env
    parser = _parser(env)
    args = parser.parse_args(argv)
    if args.status_interval <= 0:
        parser.error("--status-interval must be positive")
    if args.finished_job_ttl < 0:
        parser.error("--finished-job-ttl must be 0 or more")
    namespaces = args.namespace or [n for n in env.get("EVENTREPLAY_NAMESPACES", "").split(",") if n.strip()]
    allow = {i.strip() for i in env.get("EVENTREPLAY_IMAGE_ALLOWLIST", "").split(",") if i.strip()}
    try:
        kafka_settings = parse_settings(
            env.get("EVENTREPLAY_OPERATOR_KAFKA_SETTINGS", ""), "EVENTREPLAY_OPERATOR_KAFKA_SETTINGS"
        )
        policy = load(args.policy_file, own(args, env, frozenset(allow)))
        log_format = parse_log_format(args.log_format)  # argparse leaves an env default unchecked
        run_as_user = _uid(args.worker_run_as_user)
        worker_pod = parse(env.get(WORKER_POD_ENV, ""))
    except ValueError as err:
        parser.error(str(err))
    return OperatorConfig(
        namespaces=tuple(n.strip() for n in namespaces),
        worker_image=args.worker_image,
        image_allowlist=frozenset(allow),
        worker_command=tuple(shlex.split(args.worker_command)),
        kafka_settings=kafka_settings,
        redis_password=env.get("EVENTREPLAY_OPERATOR_REDIS_PASSWORD") or None,
        liveness=None if args.liveness == "none" else args.liveness,
        status_interval=args.status_interval,
        policy=policy,
        finished_job_ttl=args.finished_job_ttl,
        log_format=log_format,
        run_as_user=run_as_user,
        worker_pod=worker_pod,
    )


def _uid(value: str) -> int | None:
    if value.strip().lower() == "none":
        return None
    if not value.strip().isdigit() or int(value) == 0:
        raise ValueError(f"--worker-run-as-user {value!r}: a non-root uid (a positive integer) or 'none'")
    return int(value)

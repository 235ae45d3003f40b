"""kopf handlers: thin adapters from kopf's callbacks to `sync.sync`, plus startup/login/health.

Jobs labelled with a replay uid wake their replay when they finish (`job_changed`), so the
timer only polls progress and retries; a replay at rest costs nothing per tick (`ticks.at_rest`).
Handlers return nothing and never touch `patch`: the status is ours (written by `sync`),
kopf's own bookkeeping lives in annotations under our prefix. Create, resume, update and the
timer all run the same level-based `sync`, so any of them may run again at any time. The timer is
registered by `register_status_timer` with the configured `--status-interval`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import kopf

from . import metrics
from .api.v1alpha1 import GROUP, PLURAL, VERSION
from .checkpoints import CheckpointReader
from .clients import Clients
from .config import OperatorConfig
from .job_names import LABEL_UID
from .kafka import KafkaAccess
from .kube import Kube, KubeError, api_client
from .sync import sync
from .ticks import at_rest, job_finished, owner_reference

RESOURCE = (GROUP, VERSION, PLURAL)


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.persistence.finalizer = f"{GROUP}/finalizer"  # kopf needs one while timers run
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    # Only our explicit kopf.event() calls become Kubernetes Events (INFO = Normal, WARNING = Warning);
    # handler log lines stay in the operator's log.
    settings.posting.level = logging.INFO
    settings.posting.loggers = False
    settings.peering.standalone = True
    settings.execution.max_workers = 16
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 60
    try:
        metrics.serve()
    except OSError as err:  # a second operator on one machine (tests): keep running without metrics
        logging.getLogger(__name__).warning("metrics endpoint not started: %s", err)
    config: OperatorConfig = memo.config
    memo.clients = Clients(
        kube=Kube(api_client(os.environ.get("KUBECONFIG") or None)),
        kafka=KafkaAccess(settings=config.kafka_settings),
        checkpoints=CheckpointReader(password=config.redis_password),
        config=config,
    )


@kopf.on.cleanup()
def close(memo: kopf.Memo, **_: Any) -> None:
    clients: Clients | None = getattr(memo, "clients", None)
    if clients is not None:
        clients.checkpoints.close()


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """The kubeconfig in KUBECONFIG (client certificates included) when set, else the service account."""
    if os.environ.get("KUBECONFIG"):
        return kopf.login_with_kubeconfig(**kwargs)
    return kopf.login_with_service_account(**kwargs)


@kopf.on.probe(id="replays")
def replays_seen(memo: kopf.Memo, **_: Any) -> int:
    clients: Clients | None = getattr(memo, "clients", None)
    return len(clients.locks) if clients else 0


def _run(memo: Any, body: Any, namespace: str | None, name: str) -> None:
    assert namespace is not None, "EventReplay is namespaced"
    try:
        outcome = sync(memo.clients, namespace, name)
    except KubeError as err:
        metrics.RECONCILE_ERRORS.labels("kubernetes").inc()
        raise kopf.TemporaryError(f"Kubernetes API: {err}", delay=5) from err
    except Exception:
        metrics.RECONCILE_ERRORS.labels("unexpected").inc()
        raise
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message[:1024])


@kopf.on.create(*RESOURCE)
@kopf.on.resume(*RESOURCE)
@kopf.on.update(*RESOURCE, field="spec")
def replay_changed(memo: Any, body: kopf.Body, namespace: str | None, name: str, **_: Any) -> None:
    _run(memo, body, namespace, name)


def replay_status(memo: Any, body: kopf.Body, namespace: str | None, name: str, **_: Any) -> None:
    """The timer: progress while workers run, retries while Kafka/Redis are away; nothing (not
    even a GET) for a replay at rest, which only its Jobs or a spec change can move on."""
    if at_rest(body):
        return
    _run(memo, body, namespace, name)


@kopf.on.event("batch", "v1", "jobs", labels={LABEL_UID: kopf.PRESENT})
def job_changed(memo: Any, body: kopf.Body, event: kopf.RawEvent, **_: Any) -> None:
    """A Job of ours finished (or vanished): sync its replay now rather than at the next tick."""
    if event.get("type") not in ("MODIFIED", "DELETED"):
        return  # the initial listing: the replays' resume handlers cover a restart
    if event.get("type") == "MODIFIED" and not job_finished(body):
        return
    owner = owner_reference(body)
    if owner is None:
        return
    meta = owner["metadata"]
    _run(memo, owner, meta["namespace"], meta["name"])


def register_status_timer(interval: float, registry: kopf.OperatorRegistry | None = None) -> None:
    """The status timer: each replay's status is recomputed (and patched only if changed) at most
    every `interval` seconds. Registered at start-up because kopf fixes a timer's interval then."""
    kopf.timer(*RESOURCE, interval=interval, initial_delay=interval, registry=registry)(replay_status)

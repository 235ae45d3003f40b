"""kopf handlers: thin adapters from kopf's callbacks to `sync.sync`, plus startup/login/health.

Jobs labelled with a replay uid wake their replay when they finish (`job_changed`), so the
timer only polls progress and retries; a replay at rest costs nothing per tick (`ticks.at_rest`).
Handlers return nothing and never touch `patch`: the status is ours (written by `sync`),
kopf's own bookkeeping lives in annotations under our prefix. Create, resume, update and the
timer all run the same level-based `sync`, so any of them may run again at any time. The timer is
registered by `register_status_timer` with the configured `--status-interval`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import kopf

from . import metrics
from .api.v1alpha1 import GROUP, PLURAL, VERSION
from .checkpoints import CheckpointReader, CheckpointsUnavailable
from .cleanup import clean_up, leftovers, reachable_spec
from .clients import Clients
from .config import OperatorConfig
from .events import EVENT_NAME_PREFIX, REPORTING_COMPONENT, Event
from .job_names import LABEL_UID
from .kafka import KafkaAccess, KafkaUnavailable
from .kube import Kube, KubeError, api_client
from .sync import sync
from .ticks import at_rest, job_finished, owner_reference

RESOURCE = (GROUP, VERSION, PLURAL)
Handler = TypeVar("Handler", bound=Callable[..., None])


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
    # `kubectl describe` shows "From: eventreplay-operator" (kopf's default says kopf).
    settings.posting.reporting_component = REPORTING_COMPONENT
    settings.posting.reporting_instance = os.environ.get("HOSTNAME") or REPORTING_COMPONENT
    settings.posting.event_name_prefix = EVENT_NAME_PREFIX
    settings.peering.standalone = True
    settings.execution.max_workers = 16
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 60
    config: OperatorConfig = memo.config
    # Namespaced mode names exact namespaces: kopf needs no namespace listing (which the chart's
    # least-privilege RBAC refuses: 403s and a ~1 min start, seen on the real node).
    settings.scanning.disabled = namespaced_without_scanning(config.namespaces)
    try:
        metrics.serve()
    except OSError as err:  # a second operator on one machine (tests): keep running without metrics
        logging.getLogger(__name__).warning("metrics endpoint not started: %s", err)
    metrics.POLICY_PERMISSIVE.set(1 if config.policy.permissive else 0)
    if config.policy.permissive:
        logging.getLogger(__name__).warning(
            "policy.permissive is true: replays may use any Kafka cluster, Redis, transform and Secret they "
            "name, with this operator's own credentials for planning; set a replay policy to confine tenants"
        )
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


def namespaced_without_scanning(namespaces: tuple[str, ...]) -> bool:
    """True for a list of exact namespace names (kopf would list namespaces only to match globs)."""
    return bool(namespaces) and not any(set(name) & set("*?[]!") for name in namespaces)


def in_cluster_server(env: Mapping[str, str]) -> str | None:
    """The API server as the kubelet announces it (KUBERNETES_SERVICE_HOST/PORT), like client-go's
    in-cluster config; None without them."""
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        return None
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """The kubeconfig in KUBECONFIG (client certificates included) when set, else the service account.

    kopf's service-account login names https://kubernetes.default.svc, which needs cluster DNS;
    the Service's address from the environment does not (a real kubelet without DNS showed it).
    """
    if os.environ.get("KUBECONFIG"):
        return kopf.login_with_kubeconfig(**kwargs)
    info = kopf.login_with_service_account(**kwargs)
    server = in_cluster_server(os.environ)
    return dataclasses.replace(info, server=server) if info is not None and server else info


@kopf.on.probe(id="replays")
def replays_seen(memo: kopf.Memo, **_: Any) -> int:
    clients: Clients | None = getattr(memo, "clients", None)
    return len(clients.locks) if clients else 0


def retry_delay(seconds: float, rng: random.Random | None = None) -> float:
    """A handler's retry in [seconds, 2 x seconds): an API server outage fails every replay's pass
    at once, and one fixed delay would bring them all back at the same instant."""
    return seconds * (1 + (rng or random).random())


def run_pass(body: Any, one_pass: Callable[[], Iterable[Event]]) -> None:
    """One level-based pass of an object (a replay's or a watch's), its Events posted on `body`: an
    API server error is counted and retried by kopf, anything else counted and raised."""
    try:
        events = one_pass()
    except KubeError as err:
        metrics.RECONCILE_ERRORS.labels("kubernetes").inc()
        raise kopf.TemporaryError(f"Kubernetes API: {err}", delay=retry_delay(5)) from err
    except Exception:
        metrics.RECONCILE_ERRORS.labels("unexpected").inc()
        raise
    for event in events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message[:1024])


def on_spec_change(*resource: str) -> Callable[[Handler], Handler]:
    """Registers a handler for the object's creation, the operator's resume and a spec update: each
    runs the same level-based pass, so any of them may run again at any time."""

    def register(handler: Handler) -> Handler:
        kopf.on.update(*resource, field="spec")(handler)
        kopf.on.resume(*resource)(handler)
        kopf.on.create(*resource)(handler)
        return handler

    return register


def _run(memo: Any, body: Any, namespace: str | None, name: str) -> None:
    assert namespace is not None, "EventReplay is namespaced"
    run_pass(body, lambda: sync(memo.clients, namespace, name).events)


def _deletes_leftovers(spec: kopf.Spec, **_: Any) -> bool:
    return spec.get("deletionPolicy") == "Delete"


@kopf.on.delete(*RESOURCE, when=_deletes_leftovers)
def replay_deleted(
    *,
    memo: Any,
    spec: kopf.Spec,
    status: kopf.Status,
    namespace: str | None,
    name: str | None,
    uid: str | None,
    logger: kopf.Logger,
    **_: Any,
) -> None:
    """deletionPolicy Delete: remove the replay's topics, groups and Redis keys, then let it go."""
    assert uid is not None and namespace is not None and name is not None
    config = memo.clients.config
    reachable = reachable_spec(config.policy, namespace, dict(spec), config.worker_image)
    try:
        logger.info(clean_up(memo.clients, leftovers(reachable, dict(status), namespace, name, uid)))
    except (KafkaUnavailable, CheckpointsUnavailable) as err:
        raise kopf.TemporaryError(f"cleanup (deletionPolicy Delete) waits: {err}", delay=retry_delay(10)) from err


@on_spec_change(*RESOURCE)
def replay_changed(memo: Any, body: kopf.Body, namespace: str | None, name: str, **_: Any) -> None:
    _run(memo, body, namespace, name)


def replay_status(memo: Any, body: kopf.Body, namespace: str | None, name: str, **_: Any) -> None:
    """The timer: progress while workers run, retries while Kafka/Redis are away; nothing (not
    even a GET) for a replay at rest, which only its Jobs or a spec change can move on."""
    if at_rest(body):
        return
    _run(memo, body, namespace, name)


def is_active(body: kopf.Body, **_: Any) -> bool:
    """The timer's filter: only replays not at rest get one. kopf keeps its finalizer only while a
    timer (or an on.delete handler) needs it, so a replay at rest with `deletionPolicy: Keep`
    carries none and deletes at once, even while the operator is down."""
    return not at_rest(body)


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
    """The status timer: each active replay's status is recomputed (and patched only if changed) at
    most every `interval` seconds. Registered at start-up because kopf fixes a timer's interval then."""
    kopf.timer(*RESOURCE, interval=interval, initial_delay=interval, when=is_active, registry=registry)(replay_status)

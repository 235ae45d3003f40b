"""The plan phase: admit the replay (a valid status and spec, an allowed image, the tenant policy),
then plan once and pin the plan in status *before* any Job exists, so a restarted operator or a
retry reuses exactly that range. Refusals come before any connection to Kafka or Redis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .. import conditions as cond
from .. import progress
from ..api.v1alpha1 import EventReplaySpec, EventReplayStatus, Plan
from ..conditions import Want
from ..config import OperatorConfig
from ..job_names import owned_by
from ..job_state import current_jobs, read_jobs
from ..kafka import KafkaUnavailable
from ..planner import PlanRefused, input_hash, make_plan, refuse_foreign_output
from ..retention import with_retention_notes
from . import status
from .context import Outcome, Pass, Planned

REFUSALS = frozenset(
    {
        "TopicNotFound",
        "PartitionOutOfRange",
        "PartitionNotSelected",
        "RetentionExpired",
        "EmptyWindow",
    }
)
"""Plan refusals that wait for a spec change. InvalidSpec, ImageNotAllowed and NotAllowed are not here:
they are checked again on every pass, so an operator whose allowlist or policy grows picks the replay up."""

PlanChoice = Literal["keep", "replan", "refused", "frozen"]
"""Keep the pinned plan; make (and pin) a new one; wait for a spec change (refused already); or
stall: what the pinned plan was made from changed, and a pinned plan is never remade."""

PERMISSIVE_NOTICE = (
    "the operator runs with policy.permissive: true: this replay may use any Kafka cluster, Redis, "
    "transform and Secret it names; set a replay policy to confine tenants"
)


FROZEN_MESSAGE = (
    "spec.source or spec.window differs from what the pinned plan was made from; a planned replay is "
    "frozen (dry run or not): restore them, or create a new EventReplay"
)


@dataclass(frozen=True)
class Refused:
    reason: str
    message: str
    keep_rest: bool = False
    """The stored status did not validate: write only its conditions, keep its plan pinned."""


def decide_admission(
    invalid_status: str, spec: EventReplaySpec | None, invalid: str, config: OperatorConfig, namespace: str
) -> Refused | None:
    """Why this replay may not go further this pass (None when it may); checked on every pass."""
    if invalid_status:  # someone edited the status: say so, and touch neither plan nor Jobs
        message = f"{invalid_status}; fix or remove that field (kubectl edit --subresource=status)"
        return Refused("InvalidStatus", message, keep_rest=True)
    if spec is None:
        return Refused("InvalidSpec", invalid)
    image = spec.worker.image
    if image and not config.allowed(image):
        return Refused("ImageNotAllowed", f"worker image {image} is not in the operator's allowlist")
    refusal = config.policy.check(namespace, spec, default_image=config.worker_image)
    if refusal is not None:
        return Refused("NotAllowed", f"policy rule {refusal.rule}: {refusal.message}")
    return None


def decide_notices(config: OperatorConfig) -> list[Want]:
    """Conditions every pass sets whatever else it decides: a permissive install says so on each
    replay it serves (True is a notice, not a failure: Ready, Reconciling and Stalled are untouched)."""
    if not config.policy.permissive:
        return []
    return [Want(cond.POLICY_PERMISSIVE, "True", "PermissiveInstall", PERMISSIVE_NOTICE)]


def decide_plan(old: EventReplayStatus, generation: int | None, spec_hash: str, *, replaceable: bool) -> PlanChoice:
    """A pinned plan is kept, dry run or not: the fields it was made from are frozen (the CRD refuses
    the edit). Should they differ anyway (an object admitted by an older CRD), a plan no partition
    Job depends on yet (`replaceable`) stalls instead of being remade; one with Jobs is kept. An
    impossible plan waits for a spec change."""
    plan = old.plan
    if plan is not None and (plan.input_hash == spec_hash or not replaceable):
        return "keep"
    if plan is not None:
        return "frozen"
    planned = cond.get(old.conditions, cond.PLANNED)
    refused = (
        planned is not None
        and planned.status == "False"
        and planned.reason in REFUSALS
        and old.observed_generation == generation
    )
    return "refused" if plan is None and refused else "replan"


def run(p: Pass) -> Planned | Outcome:
    """Admit, then keep or make the plan; an Outcome when the pass stops here."""
    p.notices = decide_notices(p.c.config)
    refused = decide_admission(p.invalid_status, p.spec, p.invalid, p.c.config, p.ns)
    if refused is not None:
        wants = progress.refused_conditions(refused.reason, refused.message)
        return status.conditions_only(p, wants, keep_rest=refused.keep_rest)
    assert p.spec is not None, "admitted: the spec validated"
    spec = p.c.config.policy.resolve(p.ns, p.spec)
    jobs = read_jobs(p.c.kube.list_jobs(p.ns, owned_by(p.owner)))
    choice = decide_plan(p.old, p.generation, input_hash(spec), replaceable=not current_jobs(jobs))
    if choice == "refused":
        return Outcome([])  # an impossible plan waits for a spec change
    if choice == "frozen":
        return status.stall(p, "PlanFrozen", FROZEN_MESSAGE, spec)
    if choice == "keep" and p.old.plan is not None:
        return Planned(spec, p.old.plan, jobs)
    made = _make(p, spec)
    return made if isinstance(made, Outcome) else Planned(spec, made, jobs)


def _make(p: Pass, spec: EventReplaySpec) -> Plan | Outcome:
    """A new plan from what Kafka holds now, pinned in status before any Job is created."""
    try:
        observation = p.c.kafka.observe(spec, p.now)
        plan = make_plan(spec, p.owner, observation, p.now, p.c.config.policy.max_partitions(p.ns, spec))
        plan = with_retention_notes(plan, spec, p.c.kafka.retention(spec), p.now)
        outputs = [plan.sandbox_topic, plan.dead_letter_topic]
        refuse_foreign_output(p.c.kafka.writers(spec.source.bootstrap_servers, outputs), p.owner.uid)
    except PlanRefused as refused:
        return status.stall(p, refused.reason, refused.message, spec)
    except KafkaUnavailable as err:
        return status.wait(p, spec, err.reason, f"cannot plan yet: {err}")
    # Pin the plan before any Job is created: a restart or a retry reuses exactly this range.
    status.write(p, p.old.model_copy(update={"plan": plan, "partitions": [], "totals": None, "progress": None}))
    p.replanned = True
    return plan

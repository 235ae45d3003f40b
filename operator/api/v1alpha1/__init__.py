"""eventreplay.io/v1alpha1: the EventReplay models (the CRD's source) and their public names.

`resource.EventReplay` is the root object; `spec` (with `source`, `window`, `validation`, `dedup`,
`transform`, `reconciliation`, `worker`), `status` and `step_status` hold its parts, `base` what they share.
"""

from .annotations import APPROVED_BY, CREATED_BY
from .base import ApiModel, SecretKeyRef, parse_time
from .dedup import Dedup, RedisConnection, RedisPasswordRef
from .reconciliation import EventIdSource, ExistingOffsets, ExternalResults, Promotion, Reconciliation, Thresholds
from .resource import (
    API_VERSION,
    GROUP,
    KIND,
    MAX_NAME,
    PLURAL,
    PRINTER_COLUMNS,
    ROOT_RULES,
    SHORT_NAMES,
    VERSION,
    EventReplay,
    ObjectMeta,
)
from .sink import Sink, SinkHeaders
from .source import KafkaCredentialsRef, Source
from .spec import IMMUTABLE, EventReplaySpec
from .status import (
    PHASES,
    BlockedPod,
    BlockedStep,
    Condition,
    ConditionStatus,
    EventReplayStatus,
    PartitionProgress,
    PartitionState,
    Plan,
    PlanPartition,
    PlanTimes,
    Progress,
    Totals,
)
from .step_status import AggregationStatus, PromotionStatus, ReconciliationStatus, ReportRange, ReportSamples
from .transform import Aggregate, Aggregation, Transform
from .validation import PoisonBreaker, Validation
from .window import OffsetWindow, PartitionOffsets, RelativeWindow, TimestampWindow, Window
from .worker import ResourceAmounts, Resources, Worker

__all__ = [
    "API_VERSION",
    "APPROVED_BY",
    "CREATED_BY",
    "GROUP",
    "IMMUTABLE",
    "KIND",
    "MAX_NAME",
    "PHASES",
    "PLURAL",
    "PRINTER_COLUMNS",
    "ROOT_RULES",
    "SHORT_NAMES",
    "VERSION",
    "Aggregate",
    "Aggregation",
    "AggregationStatus",
    "ApiModel",
    "BlockedPod",
    "BlockedStep",
    "Condition",
    "ConditionStatus",
    "Dedup",
    "EventIdSource",
    "EventReplay",
    "EventReplaySpec",
    "EventReplayStatus",
    "ExistingOffsets",
    "ExternalResults",
    "KafkaCredentialsRef",
    "ObjectMeta",
    "OffsetWindow",
    "PartitionOffsets",
    "PartitionProgress",
    "PartitionState",
    "Plan",
    "PlanPartition",
    "PlanTimes",
    "PoisonBreaker",
    "Progress",
    "Promotion",
    "PromotionStatus",
    "Reconciliation",
    "ReconciliationStatus",
    "RedisConnection",
    "RedisPasswordRef",
    "RelativeWindow",
    "ReportRange",
    "ReportSamples",
    "ResourceAmounts",
    "Resources",
    "SecretKeyRef",
    "Sink",
    "SinkHeaders",
    "Source",
    "Thresholds",
    "TimestampWindow",
    "Totals",
    "Transform",
    "Validation",
    "Window",
    "Worker",
    "parse_time",
]

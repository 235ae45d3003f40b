"""eventreplay.io/v1alpha1: the EventReplay models (the CRD's source) and their public names.

`resource.EventReplay` is the root object; `spec` (with `source`, `window`, `validation`, `dedup`,
`transform`, `reconciliation`, `worker`), `status` and `step_status` hold its parts, `base` what they share.
`watch_resource.EventReplayWatch` is the gap watch (`watch_spec`, `watch_status`).
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
from .watch_resource import (
    WATCH_KIND,
    WATCH_MAX_NAME,
    WATCH_PLURAL,
    WATCH_PRINTER_COLUMNS,
    WATCH_ROOT_RULES,
    WATCH_SHORT_NAMES,
    EventReplayWatch,
)
from .watch_spec import Draft, DraftTemplate, EventReplayWatchSpec, WatchReconciliation, WatchSchedule
from .watch_status import ActiveScan, EventReplayWatchStatus, LastScan, WatchGap
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
    "WATCH_KIND",
    "WATCH_MAX_NAME",
    "WATCH_PLURAL",
    "WATCH_PRINTER_COLUMNS",
    "WATCH_ROOT_RULES",
    "WATCH_SHORT_NAMES",
    "ActiveScan",
    "Aggregate",
    "Aggregation",
    "AggregationStatus",
    "ApiModel",
    "BlockedPod",
    "BlockedStep",
    "Condition",
    "ConditionStatus",
    "Dedup",
    "Draft",
    "DraftTemplate",
    "EventIdSource",
    "EventReplay",
    "EventReplaySpec",
    "EventReplayStatus",
    "EventReplayWatch",
    "EventReplayWatchSpec",
    "EventReplayWatchStatus",
    "ExistingOffsets",
    "ExternalResults",
    "KafkaCredentialsRef",
    "LastScan",
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
    "WatchGap",
    "WatchReconciliation",
    "WatchSchedule",
    "Window",
    "Worker",
    "parse_time",
]

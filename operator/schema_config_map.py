"""The replay's inline JSON Schema carried once: one immutable ConfigMap per (replay, schema) that
every partition Job mounts read-only, and the file reference their tasks carry instead of the schema.

Pure: same spec, same objects. The name holds the schema's digest (`job_names.schema_config_map_name`),
so a Job of a frozen plan always mounts the bytes that plan was made with (another schema is another
ConfigMap); `immutable: true` lets the kubelet stop watching it. The replay owns it (ownerReference):
Kubernetes' garbage collector removes it with the replay, so the operator never deletes one.
"""

from __future__ import annotations

from typing import Any

from eventreplay.worker.contract.schema_file import SCHEMA_KEY, digest, encode
from eventreplay.worker.contract.tasks import SchemaFile

from .api.v1alpha1 import EventReplaySpec
from .job_names import Owner, owned_labels, owner_reference, schema_config_map_name

SCHEMA_DIR = "/etc/eventreplay/schema"
"""Where the partition Jobs mount the ConfigMap (read-only)."""
VOLUME = "schema"

JSON = dict[str, Any]


def schema_file(spec: EventReplaySpec) -> SchemaFile | None:
    """What a partition task says of the schema: its mounted path and digest (None: no inline schema)."""
    schema = spec.validation.json_schema
    if schema is None:
        return None
    return SchemaFile(path=f"{SCHEMA_DIR}/{SCHEMA_KEY}", sha256=digest(encode(schema)))


def config_map(spec: EventReplaySpec, owner: Owner) -> JSON | None:
    """The ConfigMap holding the schema's bytes, owned by the replay (None: no inline schema)."""
    schema = spec.validation.json_schema
    if schema is None:
        return None
    data = encode(schema)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": schema_config_map_name(owner.name, digest(data)),
            "namespace": owner.namespace,
            "labels": owned_labels(owner),
            "ownerReferences": [owner_reference(owner)],
        },
        "immutable": True,
        "data": {SCHEMA_KEY: data.decode()},
    }


def volume(config_map_name: str) -> JSON:
    """The pod's volume of the ConfigMap: only the schema's key, world-readable, nothing writable."""
    source = {"name": config_map_name, "items": [{"key": SCHEMA_KEY, "path": SCHEMA_KEY}], "defaultMode": 0o444}
    return {"name": VOLUME, "configMap": source}


def mount() -> JSON:
    return {"name": VOLUME, "mountPath": SCHEMA_DIR, "readOnly": True}

"""The Kubernetes calls of a watch's pass (`WatchKube`, over the operator's `kube.Kube`) and their
port (`WatchKubePort`), which the unit tests' fakes are type-checked against."""

from __future__ import annotations

from typing import Protocol

from ..api.v1alpha1 import PLURAL, WATCH_PLURAL
from ..kube import JSON, Kube, KubeError


class WatchKubePort(Protocol):
    def get_watch(self, ns: str, name: str) -> JSON | None: ...
    def patch_watch_status(self, ns: str, name: str, patch: JSON) -> int: ...
    def create_draft(self, body: JSON) -> bool: ...
    def list_jobs(self, ns: str, selector: str) -> list[JSON]: ...
    def create_job(self, job: JSON) -> bool: ...
    def expire_job(self, ns: str, name: str, ttl: int) -> None: ...


class WatchKube:
    """EventReplayWatches, their drafts and their scan Jobs."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    def get_watch(self, ns: str, name: str) -> JSON | None:
        return self.kube.get_custom(WATCH_PLURAL, ns, name)

    def patch_watch_status(self, ns: str, name: str, patch: JSON) -> int:
        return self.kube.patch_custom_status(WATCH_PLURAL, ns, name, patch)

    def create_draft(self, body: JSON) -> bool:
        """Create a draft EventReplay; False when one of its name exists (its name is the gap's: the
        same gap, drafted by an earlier pass)."""
        ns = body["metadata"]["namespace"]
        try:
            self.kube.call("POST", self.kube.custom_path(PLURAL, ns), body)
        except KubeError as err:
            if err.status == 409:
                return False
            raise
        return True

    def list_jobs(self, ns: str, selector: str) -> list[JSON]:
        return self.kube.list_jobs(ns, selector)

    def create_job(self, job: JSON) -> bool:
        return self.kube.create_job(job)

    def expire_job(self, ns: str, name: str, ttl: int) -> None:
        self.kube.expire_job(ns, name, ttl)

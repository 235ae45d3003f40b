"""EventReplay: replay Kafka events exactly once into a sandbox, reconcile, promote the delta."""

__version__ = "0.1.0"

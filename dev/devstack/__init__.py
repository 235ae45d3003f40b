"""The local stack: real Kafka, Redis and a Kubernetes control plane as processes on 127.0.0.1."""

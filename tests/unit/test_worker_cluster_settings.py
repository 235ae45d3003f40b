"""The worker's side of a policy cluster (issue #12): the policy's settings and CA over the tenant's
Secret, and topics it may not create but the operator made."""

from __future__ import annotations

from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from eventreplay.worker.contract.environment import KAFKA_CA_ENV, KAFKA_SETTINGS_ENV
from eventreplay.worker.contract.exit_codes import PermanentFailure, RetriableFailure
from eventreplay.worker.contract.kafka_clients import create_topics, job_config
from eventreplay.worker.contract.tasks import KafkaConnection

CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def _connection(**extra: Any) -> KafkaConnection:
    base = {"bootstrapServers": "k:9093", "settings": {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"}}
    return KafkaConnection.model_validate({**base, **extra})


def test_the_worker_puts_the_policy_over_its_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KAFKA_SETTINGS_ENV, "sasl.username=u\nsasl.password=p\n")
    monkeypatch.setenv(KAFKA_CA_ENV, CA_PEM)
    config = job_config(_connection(settingsEnv=KAFKA_SETTINGS_ENV, caEnv=KAFKA_CA_ENV))
    assert config == {
        "bootstrap.servers": "k:9093",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "u",
        "sasl.password": "p",
        "ssl.ca.pem": CA_PEM,
    }


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("security.protocol=PLAINTEXT\n", "replay policy's"),  # a tenant downgrading the platform's TLS
        ("ssl.ca.pem=x\n", "replay policy's"),  # or trusting its own CA
    ],
)
def test_a_secret_cannot_change_the_policys_settings(
    monkeypatch: pytest.MonkeyPatch, secret: str, message: str
) -> None:
    monkeypatch.setenv(KAFKA_SETTINGS_ENV, secret)
    monkeypatch.setenv(KAFKA_CA_ENV, CA_PEM)
    with pytest.raises(PermanentFailure, match=message):
        job_config(_connection(settingsEnv=KAFKA_SETTINGS_ENV, caEnv=KAFKA_CA_ENV))


def test_a_missing_ca_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KAFKA_CA_ENV, raising=False)
    with pytest.raises(PermanentFailure, match=KAFKA_CA_ENV):
        job_config(_connection(caEnv=KAFKA_CA_ENV))


class _Admin:
    """An AdminClient whose principal may not create topics: the broker refuses before it looks."""

    def __init__(self, existing: set[str]) -> None:
        self.existing = existing

    def create_topics(self, new: list[Any], **_: Any) -> dict[str, Any]:
        out = {}
        for topic in new:
            future: Future[None] = Future()
            future.set_exception(KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)))
            out[topic.topic] = future
        return out

    def list_topics(self, timeout: float) -> Any:
        return SimpleNamespace(topics={name: object() for name in self.existing})


def test_a_worker_without_create_rights_accepts_topics_the_operator_made() -> None:
    create_topics(_Admin({"a.sandbox", "a.dlq"}), ["a.sandbox", "a.dlq"], 2)  # nothing to create: fine
    with pytest.raises(RetriableFailure, match="dlq"):
        create_topics(_Admin({"a.sandbox"}), ["a.sandbox", "a.dlq"], 2)

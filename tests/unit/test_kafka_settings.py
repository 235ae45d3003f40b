"""Kafka client settings from a Secret: one parser for the worker, the operator and the CLI."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException

from eventreplay.operator.config import from_args
from eventreplay.worker.contract.exit_codes import PermanentFailure
from eventreplay.worker.contract.kafka_clients import security_settings
from eventreplay.worker.contract.settings import parse_settings


def _pem(tmp_path: Path, name: str) -> str:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}",
         "-keyout", str(tmp_path / f"{name}.key"), "-out", str(tmp_path / f"{name}.crt")],
        check=True, capture_output=True,
    )  # fmt: skip
    return (tmp_path / f"{name}.crt").read_text()


def test_lines_comments_and_a_pem_bundle(tmp_path: Path) -> None:
    first, second = _pem(tmp_path, "one"), _pem(tmp_path, "two")
    text = (
        "# TLS to the brokers\n"
        "security.protocol = SSL\n\n"
        f"ssl.ca.pem={first}{second}"  # a bundle: two blocks, one after the other
        "ssl.endpoint.identification.algorithm=none\n"
    )
    settings = parse_settings(text, "test")
    assert settings["security.protocol"] == "SSL"
    assert settings["ssl.endpoint.identification.algorithm"] == "none"
    assert settings["ssl.ca.pem"] == first + second
    # librdkafka takes the bundle as it is (it parses the PEM when the client is created).
    Consumer({"group.id": "g", "bootstrap.servers": "127.0.0.1:1", **settings}).close()
    broken = parse_settings(text.replace("MII", "xMII", 1), "test")
    with pytest.raises(KafkaException):
        Consumer({"group.id": "g", "bootstrap.servers": "127.0.0.1:1", **broken})


def test_bad_lines_say_where(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="line 2 in S is not key=value"):
        parse_settings("a=1\njust words\n", "S")
    pem = _pem(tmp_path, "cut")
    cut = pem[: pem.index("-----END")]
    with pytest.raises(ValueError, match=re.escape("'ssl.ca.pem' in S: the PEM block from line 1 has no END")):
        parse_settings(f"ssl.ca.pem={cut}", "S")


def test_the_worker_refuses_protected_and_bad_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SETTINGS", "sasl.mechanism=PLAIN\nisolation.level=read_uncommitted\n")
    with pytest.raises(PermanentFailure, match=re.escape("'isolation.level' may not be overridden by SETTINGS")):
        security_settings("SETTINGS")
    monkeypatch.setenv("SETTINGS", "sasl.mechanism PLAIN\n")
    with pytest.raises(PermanentFailure, match="line 1 in SETTINGS is not key=value"):
        security_settings("SETTINGS")


def test_the_operator_refuses_bad_settings_at_start(capsys: pytest.CaptureFixture[str]) -> None:
    config = from_args([], env={"EVENTREPLAY_OPERATOR_KAFKA_SETTINGS": "security.protocol=SASL_SSL\n"})
    assert config.kafka_settings == {"security.protocol": "SASL_SSL"}
    with pytest.raises(SystemExit):
        from_args([], env={"EVENTREPLAY_OPERATOR_KAFKA_SETTINGS": "security.protocol\n"})
    assert "EVENTREPLAY_OPERATOR_KAFKA_SETTINGS is not key=value" in capsys.readouterr().err

"""The chart's optional NetworkPolicy (issue 28): off by default; on, the operator pod takes only
scrapes of its metrics port and reaches only DNS, the API server and the Kafka and Redis ports its
own and the policy's addresses name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from support.chart_render import ChartDriver

pytestmark = pytest.mark.stack
VALUES: dict[str, Any] = {
    "networkPolicy": {
        "enabled": True,
        "metricsFrom": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}],
        "apiServer": {"cidrs": ["10.0.0.1/32"]},
        "extraEgress": [{"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}]}],
    },
    "operator": {"kafka": {"bootstrapServers": "kafka-0:9092,kafka-1:9092"}, "redis": {"address": "redis:6379"}},
    "policy": {
        "kafkaClusters": [{"name": "tenant", "bootstrapServers": ["t-kafka:9093"]}],
        "redisEndpoints": [{"name": "ledger", "address": "ledger:6380"}],
    },
}


def test_no_network_policy_by_default(chart: ChartDriver) -> None:
    assert "NetworkPolicy" not in chart.kinds(chart.render())


def test_the_network_policy_admits_scrapes_and_lets_out_only_dns_the_api_server_kafka_and_redis(
    chart: ChartDriver, tmp_path: Path
) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(VALUES))
    docs = chart.render("--values", str(path))
    policy = chart.only(docs, "NetworkPolicy")["spec"]
    deploy = chart.only(docs, "Deployment")
    assert policy["podSelector"]["matchLabels"] == deploy["spec"]["selector"]["matchLabels"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["ingress"] == [
        {"ports": [{"port": "metrics", "protocol": "TCP"}], "from": VALUES["networkPolicy"]["metricsFrom"]}
    ]
    dns, api, data, extra = policy["egress"]
    assert dns == {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    assert api == {
        "ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}],
        "to": [{"ipBlock": {"cidr": "10.0.0.1/32"}}],
    }
    assert data == {"ports": [{"port": p, "protocol": "TCP"} for p in (9092, 6379, 9093, 6380)]}
    assert extra == VALUES["networkPolicy"]["extraEgress"][0]

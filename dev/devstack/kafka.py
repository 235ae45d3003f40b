"""Apache Kafka in KRaft mode (one combined broker+controller) from Maven Central jars.

Transactions need the transaction-state and offsets topics to be creatable on one node,
so their replication factor and min ISR are 1.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

from . import config, procs
from .component import Component

HERE = Path(__file__).resolve().parent.parent / "kafka"

SERVER_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers={host}:{cport}
listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{cport},PODS://{host}:{pods_port}
advertised.listeners=PLAINTEXT://{host}:{port},PODS://{pods_host}:{pods_port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PODS:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={data}
num.partitions=1
num.recovery.threads.per.data.dir=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
transaction.max.timeout.ms=900000
log.retention.check.interval.ms=5000
log.segment.delete.delay.ms=1000
"""

LOG4J2 = """\
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = warn
logger.kafkaorg.name = org.apache.kafka
logger.kafkaorg.level = warn
"""


class Kafka(Component):
    name = "kafka"
    marker = "kafka.Kafka"
    start_timeout = 90.0

    def __init__(self) -> None:
        self.libs: Path | None = None

    @property
    def home(self) -> Path:
        return config.state_dir() / "kafka"

    def install(self) -> None:
        if shutil.which("java") is None or shutil.which("mvn") is None:
            from .redis import apt_install

            apt_install("openjdk-17-jre-headless", "maven")
        out = subprocess.run(["bash", str(HERE / "fetch.sh")], check=True, capture_output=True, text=True)
        self.libs = Path(out.stdout.strip().splitlines()[-1])

    def _java(self, main: str, *args: str, heap: str = "-Xmx256m") -> list[str]:
        assert self.libs is not None
        return [
            "java",
            heap,
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile=file:{self.home / 'log4j2.properties'}",
            "-cp",
            f"{self.libs}/*",
            main,
            *args,
        ]

    def launch(self) -> None:
        home = self.home
        data = home / "data"
        home.mkdir(parents=True, exist_ok=True)
        props = home / "server.properties"
        props.write_text(
            SERVER_PROPERTIES.format(
                host=config.HOST,
                port=config.PORTS.kafka,
                cport=config.PORTS.kafka_controller,
                # Bound on loopback too: the real node DNATs pod traffic for the gateway to it.
                pods_port=config.PORTS.kafka_pods,
                pods_host=config.POD_GATEWAY,
                data=data,
            )
        )
        (home / "log4j2.properties").write_text(LOG4J2)
        if not (data / "meta.properties").exists():
            subprocess.run(
                self._java(
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    "-t",
                    uuid.uuid4().hex[:22],
                    "-c",
                    str(props),
                ),
                check=True,
                capture_output=True,
                text=True,
            )
        procs.start(self.name, self._java("kafka.Kafka", str(props), heap="-Xmx768m"))

    def healthy(self) -> bool:
        if not procs.port_open(config.PORTS.kafka):
            return False
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": config.kafka_bootstrap()})
        meta = admin.list_topics(timeout=5)
        return bool(meta.brokers)

    def env(self) -> dict[str, str]:
        return {"EVENTREPLAY_KAFKA_BOOTSTRAP": config.kafka_bootstrap()}

"""The README's Python consumer: the newest status and the lineage of every render.

confluent-kafka's AvroDeserializer with its defaults, read_committed, each topic read from the
beginning to its end.   python3 reelflow_events.py <bootstrap servers> <schema registry url>
"""
import json
import sys

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

FINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED"}


def read_to_end(bootstrap, topic):
    """Yields (key, value bytes) of a whole topic, read_committed, up to its end."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "reelflow-report",  # required, but partitions are assigned: no group, no commits
        "enable.auto.commit": False,
        "isolation.level": "read_committed",  # ReelFlow writes these topics in transactions
        "enable.partition.eof": True,  # to stop at the end
    })
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    at_end = set()
    try:
        while len(at_end) < len(partitions):
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    raise KafkaException(msg.error())
                at_end.add(msg.partition())
                continue
            yield msg.key().decode("utf-8"), msg.value()
    finally:
        consumer.close()


def newest_statuses(bootstrap, registry_url):
    """The newest status of every render: the highest version wins, older or equal are dropped."""
    avro = AvroDeserializer(schema_registry_client=SchemaRegistryClient({"url": registry_url}))
    newest = {}
    for key, value in read_to_end(bootstrap, "render.status"):
        if value is None:  # a tombstone
            continue
        status = avro(value, SerializationContext("render.status", MessageField.VALUE))
        if key not in newest or status["version"] > newest[key]["version"]:
            newest[key] = status
    return newest


def lineage(bootstrap):
    """The OpenLineage events (JSON) of every render, in order."""
    events = {}
    for key, value in read_to_end(bootstrap, "render.lineage"):
        events.setdefault(key, []).append(json.loads(value))
    return events


if __name__ == "__main__":
    runs = lineage(sys.argv[1])
    for request_id, s in newest_statuses(sys.argv[1], sys.argv[2]).items():
        final = " (final)" if s["state"] in FINAL else ""
        types = [e["eventType"] for e in runs.get(request_id, [])]
        print(f"{request_id} {s['state']}{final} seed={s['seed']} version={s['version']} lineage={types}")

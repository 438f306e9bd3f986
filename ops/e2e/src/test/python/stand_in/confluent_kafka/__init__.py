"""A stand-in for the confluent-kafka package, for ConsumerGuideTest only (no PyPI on the build
machines): a Consumer that replays the records of a JSON file named by REELFLOW_STAND_IN_RECORDS,
{"topic": [[partition, key, value or null], ...]}, so the README's Python consumer runs its own
logic (reading to the end, newest version wins, tombstones, lineage) without a broker. It refuses
a configuration the README's consumer must not use.
"""
import json
import os

OFFSET_BEGINNING = -2


class KafkaError:
    _PARTITION_EOF = -191

    def __init__(self, code):
        self._code = code

    def code(self):
        return self._code


class KafkaException(Exception):
    pass


class TopicPartition:
    def __init__(self, topic, partition, offset=OFFSET_BEGINNING):
        self.topic = topic
        self.partition = partition
        self.offset = offset


class _Message:
    def __init__(self, topic, partition, key, value, error=None):
        self._topic, self._partition, self._key, self._value, self._error = (
            topic, partition, key, value, error)

    def error(self):
        return self._error

    def partition(self):
        return self._partition

    def key(self):
        return self._key

    def value(self):
        return self._value


class _Metadata:
    def __init__(self, topics):
        self.topics = topics


class _TopicMetadata:
    def __init__(self, partitions):
        self.partitions = partitions


def _records():
    with open(os.environ["REELFLOW_STAND_IN_RECORDS"], encoding="utf-8") as f:
        return json.load(f)


class Consumer:
    def __init__(self, config):
        if config.get("isolation.level") != "read_committed":
            raise KafkaException("the README's consumer must read committed records only")
        if not config.get("enable.partition.eof"):
            raise KafkaException("without enable.partition.eof the consumer never sees the end")
        self._queue = []
        self._closed = False

    def list_topics(self, topic, timeout=None):
        partitions = {p for p, _, _ in _records().get(topic, [])} or {0}
        return _Metadata({topic: _TopicMetadata({p: None for p in sorted(partitions)})})

    def assign(self, partitions):
        records = _records()
        for tp in partitions:
            if tp.offset != OFFSET_BEGINNING:
                raise KafkaException("the README's consumer reads each topic from the beginning")
            for p, key, value in records.get(tp.topic, []):
                if p == tp.partition:
                    self._queue.append(_Message(
                        tp.topic, p, key.encode("utf-8"),
                        None if value is None else value.encode("utf-8")))
            self._queue.append(_Message(
                tp.topic, tp.partition, None, None, KafkaError(KafkaError._PARTITION_EOF)))

    def poll(self, timeout=None):
        if self._closed:
            raise KafkaException("poll after close")
        return self._queue.pop(0) if self._queue else None

    def close(self):
        self._closed = True

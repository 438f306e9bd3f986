"""Stand-in (see confluent_kafka's docstring): the records file holds each value as the JSON of
the dict confluent-kafka's AvroDeserializer would return."""
import json

from confluent_kafka.schema_registry import SchemaRegistryClient


class AvroDeserializer:
    def __init__(self, schema_registry_client=None, schema_str=None):
        if not isinstance(schema_registry_client, SchemaRegistryClient):
            raise TypeError("schema_registry_client is required")

    def __call__(self, value, ctx):
        if ctx is None or ctx.field != "value":
            raise ValueError("a SerializationContext of the value is required")
        return json.loads(value)

"""Stand-in (see confluent_kafka's docstring)."""


class SchemaRegistryClient:
    def __init__(self, config):
        if "url" not in config:
            raise ValueError("url is required")
        self.url = config["url"]

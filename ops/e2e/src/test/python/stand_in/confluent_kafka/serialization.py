"""Stand-in (see the package's docstring)."""


class MessageField:
    KEY = "key"
    VALUE = "value"


class SerializationContext:
    def __init__(self, topic, field):
        self.topic = topic
        self.field = field

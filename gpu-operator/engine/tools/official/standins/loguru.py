"""Stand-in for loguru: the official code only logs through `logger`."""
import logging

logger = logging.getLogger("official")

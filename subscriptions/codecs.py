"""How a bus message crosses between API nodes (subscriptions.redis_bus): a codec per topic.

The bus knows no domain types (import-linter: subscriptions import nothing of ours), so the codecs
of messages that carry them are written beside their publishers (twin/codec.py: readings and alarm
events; resolvers/batch_events.py: batch events) and registered per topic in one table, the
composition root's (api.app.build_services). A topic without a codec carries plain JSON values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Codec:
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]
    # The bus key of a decoded message (such as a reading's tag), for keyed subscribers.
    key: Callable[[Any], str | None] = lambda _m: None


PLAIN = Codec(lambda m: m, lambda d: d)

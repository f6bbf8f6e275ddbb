"""Automatic persisted queries, Apollo's convention (APQ), on GET and POST.

A client sends `extensions.persistedQuery = {"version": 1, "sha256Hash": <hex SHA-256 of the query
text>}` without the query. A hash this node knows runs its query; an unknown one is answered (HTTP 200)
with the error code PERSISTED_QUERY_NOT_FOUND, and the client sends the text with the hash, which is
checked (a hash that does not match its text is refused) and stored once the document parsed and
validated. The store is an LRU per node, in front of Redis when the bus runs on Redis, so a query
registered on one node is found on the others. Nothing is trusted from the store: a text read back is
hashed again, and every text still passes the same parsing, limits and validation as a sent one.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections import OrderedDict
from typing import Any

log = logging.getLogger("plasmatwin.graphql")

NOT_FOUND_MESSAGE = "PersistedQueryNotFound"  # the message Apollo's clients also look for
REDIS_PREFIX = "plasmatwin:apq:"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class PersistedQueryError(ValueError):
    """A persistedQuery extension that is not Apollo's version 1 with a SHA-256."""


def digest(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()


def requested(extensions: Any) -> str | None:
    """The SHA-256 a request names in `extensions.persistedQuery`, or None when it names none."""
    if not isinstance(extensions, dict) or extensions.get("persistedQuery") is None:
        return None
    pq = extensions["persistedQuery"]
    if not isinstance(pq, dict):
        raise PersistedQueryError("extensions.persistedQuery must be an object {version, sha256Hash}")
    if pq.get("version") != 1:
        raise PersistedQueryError("unsupported persisted query version (only version 1 is known)")
    sha = pq.get("sha256Hash")
    if not isinstance(sha, str) or not _HEX64.fullmatch(sha.lower()):
        raise PersistedQueryError("extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits")
    return sha.lower()


class PersistedQueries:
    """Query texts by SHA-256: at most `size` on this node (least recently used dropped first), and
    with `redis` (an asyncio Redis client) shared by every node for `redis_ttl` seconds."""

    def __init__(self, size: int, redis: Any = None, redis_ttl: int = 86_400, redis_timeout: float = 0.5) -> None:
        self.size = size
        self.redis = redis
        self.redis_ttl = redis_ttl
        self.redis_timeout = redis_timeout
        self.local: OrderedDict[str, str] = OrderedDict()

    async def get(self, sha: str) -> str | None:
        query = self.local.get(sha)
        if query is not None:
            self.local.move_to_end(sha)
            return query
        if self.redis is None:
            return None
        try:
            raw = await asyncio.wait_for(self.redis.get(REDIS_PREFIX + sha), self.redis_timeout)
        except Exception as e:  # Redis away: the client sends the text again, nothing is lost
            log.warning("persisted query lookup in Redis failed: %r", e)
            return None
        if raw is None:
            return None
        text = raw.decode("utf-8", "surrogatepass") if isinstance(raw, bytes) else str(raw)
        if digest(text) != sha:
            return None
        self._keep(sha, text)
        return text

    async def put(self, sha: str, query: str) -> None:
        known = sha in self.local
        self._keep(sha, query)
        if self.redis is None or known:
            return
        try:
            await asyncio.wait_for(self.redis.set(REDIS_PREFIX + sha, query.encode("utf-8", "surrogatepass"),
                                                  ex=self.redis_ttl), self.redis_timeout)
        except Exception as e:  # this node keeps it; other nodes ask the client once
            log.warning("storing a persisted query in Redis failed: %r", e)

    def _keep(self, sha: str, query: str) -> None:
        self.local[sha] = query
        self.local.move_to_end(sha)
        while len(self.local) > self.size:
            self.local.popitem(last=False)

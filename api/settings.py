"""Settings, read once from PLASMATWIN_* environment variables and typed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{key} must be an integer, got {raw!r}") from exc


def _bool(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{key} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///./var/plasmatwin.db"
    redis_url: str | None = None
    # A device-bridge TOML (device-bridge/README.md) run inside this process: its OPC UA and MQTT
    # connectors feed this node's twin directly, store-and-forward buffer included.
    bridge_config: Path | None = None
    trust_anchors: Path | None = None
    # Accredited third-party CAs (also trusted): the only ones key persons' certificates may come from (IT-48).
    third_party_anchors: Path | None = None
    crl_files: tuple[Path, ...] = ()
    # The organisation's signing key and certificate for release documents (PAdES).
    org_key: Path | None = None
    org_cert: Path | None = None
    # Released batches are posted here, to the blood products traceability system (QM-03); none: kept PENDING.
    trace_url: str | None = None
    trace_interval_seconds: int = 10
    # Signed checkpoints of the audit chain's head (IT-03): how often, and the copy kept outside the database
    # (default: audit-checkpoints.jsonl in the data directory). Written only with the organisation's key.
    audit_checkpoint_minutes: int = 15
    audit_checkpoint_file: Path | None = None
    data_dir: Path = Path("./var")
    host: str = "127.0.0.1"
    port: int = 8000
    # Sign-in and tokens (IT-57): a session token lives 8 hours; 5 failures lock for 15 minutes.
    token_ttl_seconds: int = 8 * 3600
    lockout_attempts: int = 5
    lockout_seconds: int = 15 * 60
    # A verified token's principal is reused for this many seconds (0: every request asks the database);
    # sign-outs, revocations and account changes reach every node over the bus at once (api.auth).
    token_cache_seconds: int = 5
    token_cache_size: int = 10_000
    # Automatic persisted queries (Apollo's APQ): query texts kept by their SHA-256, per node (and in
    # Redis when the bus is Redis); 0 turns them off.
    persisted_queries: int = 2_000
    # Argon2id cost of password hashes (argon2-cffi's defaults: 3 passes over 64 MiB, 4 lanes).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65_536
    argon2_parallelism: int = 4
    # GraphQL limits.
    max_body_bytes: int = 1_000_000
    max_query_depth: int = 12
    max_query_cost: int = 100_000
    # Checked before graphql-core validates a document (schema/limits.py).
    max_query_length: int = 20_000
    max_query_tokens: int = 2_000
    max_query_fields: int = 300
    max_query_aliases: int = 100
    max_query_root_fields: int = 50
    max_query_repeated_fields: int = 30
    max_query_fragments: int = 50
    max_query_fragment_depth: int = 8
    max_variable_depth: int = 64
    signature_window_seconds: int = 300
    # Re-authentication at signing when the plant's setting `signing.reauthentication` is not set.
    signing_reauthentication: bool = True
    # plantState sends at most one delta per this many milliseconds (changes in between are coalesced).
    plant_state_interval_ms: int = 250
    # permessage-deflate on WebSockets: off by default, since compressing each small live frame cost the
    # core about a tenth of its time at 12,000 frames/s (docs/deployment.md); turn on for slow links.
    ws_compression: bool = False
    # One log line per HTTP request (uvicorn's access log); GMP events are in the audit trail either way.
    access_log: bool = True
    allowed_origins: tuple[str, ...] = ()
    # /metrics asks for `Authorization: Bearer <this>` when set, else answers loopback clients only.
    metrics_token: str | None = field(default=None, repr=False)

    def checkpoint_file(self) -> Path:
        return self.audit_checkpoint_file or self.data_dir / "audit-checkpoints.jsonl"
    static_dir: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        d = cls()
        anchors = env.get("PLASMATWIN_TRUST_ANCHORS")
        static = env.get("PLASMATWIN_STATIC_DIR")
        return replace(
            d,
            database_url=env.get("PLASMATWIN_DATABASE_URL", d.database_url),
            redis_url=env.get("PLASMATWIN_REDIS_URL") or None,
            bridge_config=Path(env["PLASMATWIN_BRIDGE_CONFIG"]) if env.get("PLASMATWIN_BRIDGE_CONFIG") else None,
            trust_anchors=Path(anchors) if anchors else None,
            third_party_anchors=Path(env["PLASMATWIN_THIRD_PARTY_ANCHORS"])
            if env.get("PLASMATWIN_THIRD_PARTY_ANCHORS") else None,
            org_key=Path(env["PLASMATWIN_ORG_KEY"]) if env.get("PLASMATWIN_ORG_KEY") else None,
            org_cert=Path(env["PLASMATWIN_ORG_CERT"]) if env.get("PLASMATWIN_ORG_CERT") else None,
            trace_url=env.get("PLASMATWIN_TRACE_URL") or None,
            audit_checkpoint_minutes=_int(env, "PLASMATWIN_AUDIT_CHECKPOINT_MINUTES", d.audit_checkpoint_minutes),
            audit_checkpoint_file=Path(env["PLASMATWIN_AUDIT_CHECKPOINT_FILE"])
            if env.get("PLASMATWIN_AUDIT_CHECKPOINT_FILE") else None,
            trace_interval_seconds=_int(env, "PLASMATWIN_TRACE_INTERVAL_SECONDS", d.trace_interval_seconds),
            crl_files=tuple(Path(x) for x in env.get("PLASMATWIN_CRL_FILES", "").split(",") if x),
            data_dir=Path(env.get("PLASMATWIN_DATA_DIR", str(d.data_dir))),
            host=env.get("PLASMATWIN_HOST", d.host),
            port=_int(env, "PLASMATWIN_PORT", d.port),
            token_ttl_seconds=_int(env, "PLASMATWIN_TOKEN_TTL_SECONDS", d.token_ttl_seconds),
            lockout_attempts=_int(env, "PLASMATWIN_LOCKOUT_ATTEMPTS", d.lockout_attempts),
            lockout_seconds=_int(env, "PLASMATWIN_LOCKOUT_SECONDS", d.lockout_seconds),
            token_cache_seconds=_int(env, "PLASMATWIN_TOKEN_CACHE_SECONDS", d.token_cache_seconds),
            token_cache_size=_int(env, "PLASMATWIN_TOKEN_CACHE_SIZE", d.token_cache_size),
            persisted_queries=_int(env, "PLASMATWIN_PERSISTED_QUERIES", d.persisted_queries),
            argon2_time_cost=_int(env, "PLASMATWIN_ARGON2_TIME_COST", d.argon2_time_cost),
            argon2_memory_kib=_int(env, "PLASMATWIN_ARGON2_MEMORY_KIB", d.argon2_memory_kib),
            argon2_parallelism=_int(env, "PLASMATWIN_ARGON2_PARALLELISM", d.argon2_parallelism),
            max_body_bytes=_int(env, "PLASMATWIN_MAX_BODY_BYTES", d.max_body_bytes),
            max_query_depth=_int(env, "PLASMATWIN_MAX_QUERY_DEPTH", d.max_query_depth),
            max_query_cost=_int(env, "PLASMATWIN_MAX_QUERY_COST", d.max_query_cost),
            max_query_length=_int(env, "PLASMATWIN_MAX_QUERY_LENGTH", d.max_query_length),
            max_query_tokens=_int(env, "PLASMATWIN_MAX_QUERY_TOKENS", d.max_query_tokens),
            max_query_fields=_int(env, "PLASMATWIN_MAX_QUERY_FIELDS", d.max_query_fields),
            max_query_aliases=_int(env, "PLASMATWIN_MAX_QUERY_ALIASES", d.max_query_aliases),
            max_query_root_fields=_int(env, "PLASMATWIN_MAX_QUERY_ROOT_FIELDS", d.max_query_root_fields),
            max_query_repeated_fields=_int(env, "PLASMATWIN_MAX_QUERY_REPEATED_FIELDS",
                                           d.max_query_repeated_fields),
            max_query_fragments=_int(env, "PLASMATWIN_MAX_QUERY_FRAGMENTS", d.max_query_fragments),
            max_query_fragment_depth=_int(env, "PLASMATWIN_MAX_QUERY_FRAGMENT_DEPTH", d.max_query_fragment_depth),
            max_variable_depth=_int(env, "PLASMATWIN_MAX_VARIABLE_DEPTH", d.max_variable_depth),
            signature_window_seconds=_int(env, "PLASMATWIN_SIGNATURE_WINDOW_SECONDS", d.signature_window_seconds),
            signing_reauthentication=_bool(env, "PLASMATWIN_SIGNING_REAUTHENTICATION", d.signing_reauthentication),
            plant_state_interval_ms=_int(env, "PLASMATWIN_PLANT_STATE_INTERVAL_MS", d.plant_state_interval_ms),
            ws_compression=_bool(env, "PLASMATWIN_WS_COMPRESSION", d.ws_compression),
            access_log=_bool(env, "PLASMATWIN_ACCESS_LOG", d.access_log),
            allowed_origins=tuple(x for x in env.get("PLASMATWIN_ALLOWED_ORIGINS", "").split(",") if x),
            metrics_token=env.get("PLASMATWIN_METRICS_TOKEN") or None,
            static_dir=Path(static) if static else None,
        )

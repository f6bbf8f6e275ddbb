"""The bus's topics, one list for every publisher and subscriber (and the Redis bus's codecs)."""

from __future__ import annotations

SENSOR_TOPIC = "sensor"  # each reading the twin takes in (keyed by tag)
ALARM_TOPIC = "alarm"  # alarm events, after commit
EQUIPMENT_TOPIC = "equipment"  # equipment status changes, after commit
BATCH_TOPIC = "batch"  # what happened to a batch, after commit
SESSION_TOPIC = "session"  # ended sessions: every node closes their WebSockets
CONFIG_TOPIC = "config"  # configuration changed (a plant layout): every node reloads it
PHASE_TOPIC = "phase"  # a phase started or completed: every node's alarm service reloads the watched parameters

LIVE_TOPICS = (SENSOR_TOPIC, ALARM_TOPIC, EQUIPMENT_TOPIC, BATCH_TOPIC, SESSION_TOPIC, CONFIG_TOPIC, PHASE_TOPIC)

"""Device bridge: OPC UA and MQTT connectors feeding the twin's ingest interface."""

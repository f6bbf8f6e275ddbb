"""Device bridge: OPC UA, MQTT and serial (MT-SICS scale) connectors feeding the twin's ingest interface."""

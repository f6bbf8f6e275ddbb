"""Video monitoring records (VM-…). Being built."""

"""Persistence: SQLAlchemy models, sessions, the hash-chained audit trail.

Imports nothing of ours; everything else builds on it.
"""

"""The event bus and subscription streams. Imports nothing of ours."""

"""The domain: one module per area; each mutation runs clean -> check -> save -> publish."""

"""Attack matrix: one module per family of attack; every new mutation or query adds its cases here."""

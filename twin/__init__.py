"""The live plant: last-value state of every tag, bindings to rooms and equipment."""

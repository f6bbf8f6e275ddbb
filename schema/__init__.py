"""Strawberry types and the Schema. Thin: fields call resolvers."""

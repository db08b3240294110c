"""The study file: its schema and loading (schema.py), its cells and their identities (cells.py), --explain."""

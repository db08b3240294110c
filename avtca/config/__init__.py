"""Typed-configuration machinery (base.py); each config class lives beside what it configures."""

"""Typed configuration: base machinery, model config and the experiment config."""

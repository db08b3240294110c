"""Comparisons: per (dataset, protocol), each variant against the reference, and the robustness tables."""

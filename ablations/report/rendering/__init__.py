"""Rendering: the registered tables and figures, in every output format (Markdown, LaTeX, CSV, PNG)."""

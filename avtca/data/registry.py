"""The dataset list: `DATASETS`, name -> DatasetAdapter (the contract: avtca/data/adapter.py).

A dataset registers itself with `DATASETS.register(DatasetAdapter(...))` in its own module: a module of
`avtca/data/datasets/` (imported with `avtca.data`) or any module of the user's that is imported. `data.name`
in configs and `dataset.name` in study files accept the datasets registered when they are validated.
This module sits below the config (DataConfig validates names through it) and the adapter contract above it,
so the two never import each other.
"""

from __future__ import annotations

from avtca.registry import Registry

# tables that list every dataset list them in this order: the paper's first (`rank`), then by name
DATASETS: Registry = Registry("data.name", order=lambda adapter: (adapter.rank, adapter.name))

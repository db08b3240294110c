"""Scale-out, optional for a study on one machine: a private PostgreSQL cluster (`pg`), the shared PostgreSQL +
MLflow server (`python -m ablations.scaleout.server`), and the Dask launcher (`distributed`, `--launcher dask`).

The core loop (study -> cells -> objective -> launch) never imports this package; the CLI's launcher choice is
the one place that reaches it (see the import contracts in pyproject.toml)."""

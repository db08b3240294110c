"""Where a study's results live: the Optuna storage (optuna.py), the database behind it (database.py), the
exactly-once claims of cells (claims/), the integrity checks and repairs (integrity/), MLflow re-synced from the
storage (resync.py), and a private PostgreSQL cluster for shared studies (pg.py)."""

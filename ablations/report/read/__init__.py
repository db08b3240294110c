"""Reading a study's results: runs.csv and its siblings (load), the MLflow export (export), tuned studies (select)."""

"""Workers: each loops claim a cell -> run its trials -> complete (loop.py; one trial = trial.py), started by a
launcher (base.py: the interface and its registry; launchers/: local processes, Dask, ...)."""

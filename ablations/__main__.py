"""`python -m ablations STUDY.yaml` is the same as `python -m ablations.run STUDY.yaml`."""

import sys

from ablations.startup import quiet_start_up

quiet_start_up()  # before the heavy imports: a Ctrl-C while they load leaves quietly

from ablations.run import cli  # noqa: E402 - after the start-up signal handlers

sys.exit(cli())

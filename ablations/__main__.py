"""`python -m ablations STUDY.yaml` is the same as `python -m ablations.run STUDY.yaml`."""

import sys

from ablations.run import main

sys.exit(main())

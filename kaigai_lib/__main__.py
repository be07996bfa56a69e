"""``python -m kaigai_lib …`` runs the ``kaigai`` command (see :mod:`kaigai_lib.cli`)."""

import sys

from kaigai_lib.cli import main

sys.exit(main())

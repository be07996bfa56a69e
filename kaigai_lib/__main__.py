"""``python -m kaigai_lib …`` runs the ``kaigai`` command (see :mod:`kaigai_lib.replication.cli`)."""

import sys

from kaigai_lib.replication.cli import main

sys.exit(main())

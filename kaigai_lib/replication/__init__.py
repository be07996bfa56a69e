"""Replication on real microdata: ``kaigai replicate`` and the ``kaigai`` command line.

Nothing in the library imports this package (only ``python -m kaigai_lib``).
"""

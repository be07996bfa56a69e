"""Data in and out: the schema of the firm and establishment tables, start years and risk sets from a panel,
safe output folders, disclosure control, reference data and the survey tables shipped with the package.

Imports nothing else from kaigai_lib: every other layer builds on it.
"""

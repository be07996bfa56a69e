"""The white paper's design on top of the estimators: risk sets and the matching sample, selection,
the white paper's DiD and its design comparison, coverage studies.

Imports estimators, world and data.
"""

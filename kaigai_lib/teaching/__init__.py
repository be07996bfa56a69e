"""Teaching: the book's figures, the static (no-kernel) widgets and their JavaScript, survey charts.

Imports whitepaper, estimators, world and data.
"""

"""The estimators: DataFrame and column names in, result objects out (matching, difference-in-differences,
Levinsohn–Petrin TFP, spatial spillovers, a support programme's DiD).

They import only :mod:`kaigai_lib.data` — never the synthetic world, the teaching widgets or ipywidgets.
"""

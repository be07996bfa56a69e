"""kaigai_lib: causal evaluation of firms' overseas expansion, on synthetic and real firm data."""

__version__ = "0.1.0"

"""Real data with published estimates, for external checks of the kit's estimators.

The data files are not shipped with the package (they are not ours to
redistribute); they live in a ``reference-data`` folder found through the
``KAIGAI_REFERENCE_DATA`` environment variable or, by default, in
``../shared/reference-data`` beside the repository. The published estimates
are quoted here, with their source, so the tests and the chapters compare
with one copy.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

PRODEST_FILE = "prodest_chilean.csv"

PRODEST_SOURCE = (
    "Rovigatti, G. and Mollisi, V. (2018), 'Theory and practice of total-factor productivity estimation: "
    "the control function approach using Stata', Stata Journal 18(3); R package prodest, vignette 1.0.1, "
    "Table 1 (Chilean plant panel, N = 2,544; LP second stage on the 1,944 observations with a lag)."
)

# Published point estimates (standard errors in brackets in the source are from a firm-block bootstrap).
PRODEST_PUBLISHED = pd.DataFrame(
    [
        ("Levinsohn–Petrin, prodest (2nd-order polynomial)", "LP", 2, 0.199, 0.169, 0.117, 0.025, 0.024, 0.044),
        ("Levinsohn–Petrin, levpet-style (full cubic)", "LP", 3, 0.201, 0.170, 0.120, None, None, None),
        ("Olley–Pakes", "OP", None, 0.314, 0.256, 0.168, None, None, None),
        ("Wooldridge (one-step)", "WRDG", None, 0.246, 0.214, 0.145, None, None, None),
    ],
    columns=["estimator", "method", "poly_order", "log_lab1", "log_lab2", "log_k",
             "se_log_lab1", "se_log_lab2", "se_log_k"],
)

PRODEST_SPEC = {
    "output": "log_y",
    "free": ["log_lab1", "log_lab2"],
    "state": "log_k",
    "proxy": "log_materials",
    "unit": "id",
    "time": "year",
}


def reference_data_dir() -> Path:
    """The reference-data folder: ``$KAIGAI_REFERENCE_DATA`` or ``../shared/reference-data``."""
    configured = os.environ.get("KAIGAI_REFERENCE_DATA")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "shared" / "reference-data"


def load_prodest_chilean(directory: str | Path | None = None) -> pd.DataFrame:
    """The Chilean plant panel from prodest (id, year, log_y, log_k, log_lab1, log_lab2, log_materials, ...).

    Raises FileNotFoundError, saying where it looked, when the file is absent.

    Examples
    --------
    The file is not shipped; without it, the error says where it looked and what to do:

    >>> from kaigai_lib import load_prodest_chilean
    >>> try:
    ...     load_prodest_chilean("no-such-folder")
    ... except FileNotFoundError as error:
    ...     print(error)
    prodest_chilean.csv not found at no-such-folder/prodest_chilean.csv. It is not shipped with kaigai_lib; set
    KAIGAI_REFERENCE_DATA to the folder that holds it.
    >>> import os
    >>> os.path.exists(os.path.join("no-such-folder", "prodest_chilean.csv"))
    False
    """
    path = Path(directory or reference_data_dir()) / PRODEST_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"{PRODEST_FILE} not found at {path}. It is not shipped with kaigai_lib; set KAIGAI_REFERENCE_DATA "
            "to the folder that holds it.")
    return pd.read_csv(path)

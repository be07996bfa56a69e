"""Package data for :mod:`kaigai_lib.teaching.survey`: the tables of the source texts as CSV files.

The CSV files and their data dictionary (``README.md``) live in this folder;
:mod:`kaigai_lib.data.survey_data.decode` rebuilds every CSV from the text
extracted from the source PDFs (``python -m kaigai_lib.data.survey_data.decode``).
"""

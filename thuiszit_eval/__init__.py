"""thuiszit-eval: evaluate how quickly pupils who stay home from school return to school.

The package follows one direction of data flow: a cohort folder is loaded and validated
(:mod:`thuiszit_eval.cohort`, :mod:`thuiszit_eval.schema`), turned into outcome tables, and
analysed with survival estimators whose results are tidy DataFrames.
"""

__version__ = "0.2.0"

"""The notebooks' narrative, in Dutch and English, kept out of the notebooks.

Each notebook's text lives in ``thuiszit_eval/narrative/<notebook>.<lang>.md``, split into
sections by lines ``<!-- section: name -->``. A notebook shows a section with a one-line
code cell, ``say("name")``; numbers that depend on the cohort are passed in and formatted
into the text (``{median_days}``), so the narrative is right for any cohort the report runs
on, never a copy of the demo cohort's numbers. Short labels (table headers, axis titles)
come from :mod:`thuiszit_eval.messages` and the code lists.

Example
-------
>>> from thuiszit_eval.narrative import sections
>>> "intro" in sections("00_start_here", "en")
True
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from . import formatting
from .messages import LANGS

_MARK = re.compile(r"^<!--\s*section:\s*([\w-]+)\s*-->\s*$", flags=re.M)


def narrative_dir() -> Path:
    return Path(__file__).resolve().parent / "narrative"


@cache
def sections(notebook: str, lang: str = "nl") -> dict[str, str]:
    """Section name → Markdown text of one notebook's narrative in one language."""
    if lang not in LANGS:
        raise ValueError(f"language {lang!r} not available; choose one of {', '.join(LANGS)}")
    path = narrative_dir() / f"{notebook}.{lang}.md"
    text = path.read_text(encoding="utf-8")
    parts = _MARK.split(text)
    # parts = [preamble, name1, body1, name2, body2, ...]
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}


class MarkdownText(str):
    """Markdown the package built itself, already safe: :meth:`Narrator.text` formats it
    into a section as it is, where it escapes any other text."""


def markdown(text: str) -> MarkdownText:
    """Mark ``text`` as Markdown the package built (its cohort-given parts escaped with
    :func:`thuiszit_eval.disclosure.escape_markdown`), e.g. ``*label* (p = 0,01)``.

    >>> say = Narrator("04_regression", "en")
    >>> "*a*" in say.text("truth_missed", missed=markdown("*a*"))
    True
    """
    return MarkdownText(text)


def _inert(value: object) -> object:
    """A value to format into Markdown: text escaped, numbers and dates as they are."""
    from .disclosure import escape_markdown

    if isinstance(value, MarkdownText):
        return value
    if hasattr(value, "_repr_markdown_") and hasattr(value, "data"):  # IPython Markdown
        return MarkdownText(value.data or "")
    if isinstance(value, str | list | tuple | set | dict):
        return escape_markdown(value if isinstance(value, str) else str(value))
    return value


class Narrator:
    """Shows a notebook's narrative sections as Markdown in the chosen language.

    >>> say = Narrator("00_start_here", "en")
    >>> say.text("intro").startswith("# 00")
    True
    """

    def __init__(self, notebook: str, lang: str = "nl") -> None:
        self.notebook, self.lang = notebook, lang
        sections(notebook, lang)  # fail early: unknown language or missing file
        quiet_tables(lang)

    def text(self, section: str, **numbers: object) -> MarkdownText:
        """The section's Markdown with ``numbers`` formatted in. Text values are escaped
        (:func:`thuiszit_eval.disclosure.escape_markdown`): a cohort's name, a region or a
        field name is shown as written, never run as HTML or read as Markdown. Numbers and
        dates keep their format specs; :class:`MarkdownText` (Markdown the package built,
        e.g. another section's text) goes in as it is.

        >>> Narrator("00_start_here", "en").text("intro").startswith("# 00")
        True
        """
        body = sections(self.notebook, self.lang)[section]
        if not numbers:
            return MarkdownText(body)
        return MarkdownText(body.format(**{k: _inert(v) for k, v in numbers.items()}))

    def __call__(self, section: str, **numbers: object):
        from IPython.display import Markdown

        return Markdown(self.text(section, **numbers))


def _table_html(df: pd.DataFrame, lang: str | None = None) -> str:
    """A table as HTML in the report's language: no positional index column (a labelled
    index becomes a column), numbers with the language's separators, missing cells empty
    (never "None" or "NaN"); see :func:`thuiszit_eval.formatting.format_table`."""
    return formatting.table_html(df, lang)


def quiet_tables(lang: str | None = None) -> None:
    """In a notebook kernel: tables are shown as :func:`_table_html` renders them in ``lang``
    (default: ``THUISZIT_EVAL_LANG``, else Dutch), figures carry alt text in that language
    (:func:`thuiszit_eval.formatting.figure_alt`), and numeric warnings stay off the page
    (the estimators turn the ones that matter into sentences, thuiszit_eval.estimability)."""
    import warnings
    from functools import partial

    lang = formatting.report_lang(lang)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebooks
        return
    ip = get_ipython()
    if ip is None:
        return
    ip.display_formatter.formatters["text/html"].for_type(pd.DataFrame,
                                                          partial(_table_html, lang=lang))
    formatting.describe_figures(ip, lang)
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")


def number(x: float, lang: str = "nl", digits: int = 0) -> str:
    """A number as a reader of ``lang`` writes it: 1.234,5 (nl) or 1,234.5 (en); whole
    numbers from 1000 are grouped (:func:`thuiszit_eval.formatting.number`)."""
    return formatting.number(x, lang, digits)


def percent(p: float, lang: str = "nl", digits: int = 0) -> str:
    """A share 0-1 as a percentage: 46% / 46,9% (nl), 46.9% (en)."""
    return formatting.percent(p, lang, digits)


def share(k: float, n: float, lang: str = "nl", digits: int = 0, min_cell: int = 10) -> str:
    """The share ``k`` of ``n`` as a percentage, or the suppression text where it would
    give a count back: the numerator and its complement must both be at least
    ``min_cell`` (:func:`thuiszit_eval.disclosure.share_is_safe`).

    >>> share(40, 191, "en"), share(4, 191, "en"), share(187, 191, "en")
    ('21%', 'suppressed (too few pupils)', 'suppressed (too few pupils)')
    """
    from .disclosure import share_is_safe, shown_share_is_safe
    from .messages import t

    # also as written: "3% of 350" could be 9 pupils to a reader, whatever k is
    if not (share_is_safe(k, n, min_cell) and shown_share_is_safe(k / n, n, min_cell, digits)):
        return t("suppressed", lang)
    return percent(k / n, lang, digits)


def share_with_interval(p: float, lower: float, upper: float, lang: str = "nl",
                        digits: int = 0, *, k: float | None = None, n: float | None = None,
                        min_cell: int = 10) -> str:
    """"46% (40%–52%)"; the interval is left out where it is not finite or has no width
    (no event yet, or every pupil returned), so no nan or "0% (0%–0%)" reaches a table.

    With the group size ``n`` (and the count ``k`` behind the share; else ``p·n``) the
    share is shown only where ``k`` and ``n − k`` are both at least ``min_cell``, else
    the suppression text: a share beside its denominator gives the count back.

    >>> share_with_interval(0.5, 0.3, 0.7, "en"), share_with_interval(1.0, float("nan"), 1, "en")
    ('50% (30%–70%)', '100%')
    >>> share_with_interval(float("nan"), 0, 1, "en")
    ''
    >>> share_with_interval(0.021, 0.001, 0.04, "en", n=191)
    'suppressed (too few pupils)'
    """
    vals = pd.to_numeric(pd.Series([p, lower, upper]), errors="coerce").to_numpy(float)
    if not np.isfinite(vals[0]):
        return ""
    if n is not None:
        from .disclosure import share_is_safe, shown_share_is_safe
        from .messages import t

        if not (share_is_safe(vals[0] * float(n) if k is None else k, n, min_cell)
                and shown_share_is_safe(vals[0], float(n), min_cell, digits)):
            return t("suppressed", lang)
    shown = percent(vals[0], lang, digits)
    if not np.isfinite(vals[1:]).all():
        return shown
    lo, hi = percent(vals[1], lang, digits), percent(vals[2], lang, digits)
    return shown if lo == hi else f"{shown} ({lo}–{hi})"

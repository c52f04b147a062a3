"""Numbers, percentages, intervals, dates and tables as a reader of the report's language writes
them — from one place, with Babel (CLDR locale data) rather than hand-written replacements.

One convention for the whole report: whole numbers of 1000 and more are always grouped
(``2.319`` in Dutch, ``2,319`` in English), decimals use the language's separator (``0,45`` /
``0.45``), a percentage has no space (``46%``), an interval uses an en dash (``1,33–1,73``).
Years are not numbers to group: a table column whose name says year (``jaar``, ``year``) keeps
``2024``. What is missing or not finite is shown as an empty string, never ``nan``.

Example
-------
>>> number(2319, "nl"), number(2319, "en"), number(0.456, "nl", 2)
('2.319', '2,319', '0,46')
>>> estimate_with_interval(1.523, 1.331, 1.734, "nl", 2)
'1,52 (1,33–1,73)'
>>> percent(0.469, "en", 1), date("2024-07-31", "nl")
('46.9%', '31 juli 2024')
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import os
import re
from decimal import Decimal, localcontext
from functools import cache

import numpy as np
import pandas as pd
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal

#: The Babel locale of each report language (en_GB: a European reader, "31 July 2024").
LOCALES = {"nl": "nl_NL", "en": "en_GB"}

#: A table column holding years: its integers are not grouped ("2024", not "2.024").
_YEAR_COLUMN = re.compile(r"(year|jaar)", flags=re.I)


def report_lang(lang: str | None = None) -> str:
    """``lang``, else the environment's ``THUISZIT_EVAL_LANG`` (set by the report for its
    kernels), else Dutch; ValueError for a language the report does not have."""
    lang = lang or os.environ.get("THUISZIT_EVAL_LANG") or "nl"
    if lang not in LOCALES:
        raise ValueError(f"language {lang!r} not available; choose one of {', '.join(LOCALES)}")
    return lang


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(LOCALES[report_lang(lang)])


def _finite(x: object) -> bool:
    try:
        return math.isfinite(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def number(x: float, lang: str = "nl", digits: int = 0, group: bool = True) -> str:
    """``x`` with ``digits`` decimals in ``lang``: ``1.234,5`` (nl), ``1,234.5`` (en); "" when
    not finite. A value that rounds to zero is ``0``, never ``-0``.

    >>> number(-0.001, "nl", 2), number(float("nan"), "en"), number(2024, "nl", group=False)
    ('0,00', '', '2024')
    >>> number(1e30, "en")[:9]
    '1,000,000'
    """
    if not _finite(x):
        return ""
    # Rounded as Python's own formatting rounds the binary value (0.015 → 0.01, as f"{:.2f}"),
    # so a number reads the same here as in every table and test made before; Babel only
    # places the separators.
    text = f"{float(x):.{max(digits, 0)}f}"  # type: ignore[arg-type]
    v = Decimal(text)
    if v == 0:
        v = abs(v)
    pattern = ("#,##0" if group else "0") + ("." + "0" * digits if digits > 0 else "")
    # Babel quantizes in the current decimal context (28 digits): a huge but finite value
    # (the upper limit of a degenerate bootstrap interval, 1e30) would raise there
    with localcontext() as ctx:
        ctx.prec = max(ctx.prec, len(text) + 2)
        return format_decimal(v, format=pattern, locale=_locale(lang))


def integer(n: float, lang: str = "nl") -> str:
    """A count: no decimals, grouped from 1000 (``2.319`` / ``2,319``)."""
    return number(n, lang, 0)


def general(x: float, lang: str = "nl") -> str:
    """Like Python's ``:g`` (at most six significant digits, no trailing zeros), in ``lang``.

    >>> general(0.5, "nl"), general(365.0, "en"), general(1234.5, "nl")
    ('0,5', '365', '1.234,5')
    """
    if not _finite(x):
        return ""
    v = float(f"{float(x):.6g}")  # type: ignore[arg-type]
    return format_decimal(0.0 if v == 0 else v, format="#,##0.######", locale=_locale(lang))


def percent(p: float, lang: str = "nl", digits: int = 0) -> str:
    """A share 0-1 as a percentage: ``46%`` / ``46,9%`` (nl), ``46.9%`` (en)."""
    s = number(100 * float(p), lang, digits) if _finite(p) else ""
    return s + "%" if s else ""


def interval(lower: float, upper: float, lang: str = "nl", digits: int = 2,
             pct: bool = False) -> str:
    """``1,33–1,73`` (or ``19,5%–22,9%`` with ``pct``); "" when a limit is not finite."""
    if not (_finite(lower) and _finite(upper)):
        return ""
    fmt = percent if pct else number
    return f"{fmt(lower, lang, digits)}–{fmt(upper, lang, digits)}"


def estimate_with_interval(est: float, lower: float, upper: float, lang: str = "nl",
                           digits: int = 2, pct: bool = False) -> str:
    """``1,52 (1,33–1,73)``; the interval is left out when it is not finite or has no width
    as shown (``0,0%`` with limits 0 and 0 says nothing); "" when the estimate is missing.

    >>> estimate_with_interval(0.212, 0.195, 0.229, "en", 1, pct=True)
    '21.2% (19.5%–22.9%)'
    >>> estimate_with_interval(0.0, 0.0, 0.0, "nl", 1, pct=True)
    '0,0%'
    """
    fmt = percent if pct else number
    shown = fmt(est, lang, digits)
    if not shown:
        return ""
    lo_hi = interval(lower, upper, lang, digits, pct)
    if not lo_hi or fmt(lower, lang, digits) == fmt(upper, lang, digits):
        return shown
    return f"{shown} ({lo_hi})"


def date(d: object, lang: str = "nl") -> str:
    """A calendar date written out: ``31 juli 2024`` / ``31 July 2024``; "" when missing."""
    ts = pd.to_datetime(d, errors="coerce")
    if pd.isna(ts):
        return ""
    return format_date(ts.date(), format="long", locale=_locale(lang))


# --------------------------------------------------------------------------- tables


def _decimals(values: np.ndarray) -> int:
    """The fewest decimals (at most 3) that show every value of a column as it is, but no
    more than four significant digits of its largest value (145,8 not 145,833); all whole
    numbers → 0. One count per column, so the decimals line up."""
    biggest = float(np.max(np.abs(values))) if len(values) else 0.0
    cap = 3 if biggest < 1 else max(0, 3 - int(np.floor(np.log10(biggest))))
    for d in range(cap + 1):
        if np.allclose(values, np.round(values, d), rtol=0, atol=1e-9):
            return d
    return cap


def _is_number(v: object) -> bool:
    return isinstance(v, numbers.Number) and not isinstance(v, bool | np.bool_)


def format_cells(col: pd.Series, lang: str = "nl", name: object = None) -> pd.Series:
    """One column of a table as text in ``lang``: numbers with the column's decimals (whole
    numbers grouped, except in a year column), dates written out, yes/no for booleans,
    missing cells empty; text stays as it is."""
    yes, no = {"nl": ("ja", "nee"), "en": ("yes", "no")}[report_lang(lang)]
    num = [v for v in col if _is_number(v) and _finite(v)]
    digits = _decimals(np.asarray(num, dtype=float)) if num else 0
    group = not (name is not None and _YEAR_COLUMN.search(str(name)))

    def cell(v: object) -> object:
        if isinstance(v, bool | np.bool_):
            return yes if v else no
        if v is None or v is pd.NA or v is pd.NaT:
            return ""
        if isinstance(v, pd.Timestamp | dt.date):
            return date(v, lang)
        if _is_number(v):
            if not _finite(v):
                return ""
            x = float(v)  # type: ignore[arg-type]
            if digits and x != 0 and abs(x) < 10 ** -digits / 2:  # a tiny value, not "0,000"
                return format_decimal(x, format="@#", locale=_locale(lang))
            return number(x, lang, digits, group=group)
        if isinstance(v, float) and math.isnan(v):
            return ""
        return v

    return col.astype(object).map(cell)


def _meaningful_index(index: pd.Index) -> bool:
    """A default or positional index (0, 1, 2, …, unnamed) says nothing to a reader."""
    if any(n is not None for n in index.names):
        return True
    if isinstance(index, pd.RangeIndex):
        return False
    if pd.api.types.is_integer_dtype(index.dtype):
        return not np.array_equal(np.sort(index.to_numpy()), np.arange(len(index)))
    return True


def format_table(df: pd.DataFrame, lang: str | None = None) -> pd.DataFrame:
    """A table ready to show: the index becomes ordinary columns when it carries labels (a
    named index, or group/term labels) and is dropped when it is only positions; every cell
    is text in the report's language (see :func:`format_cells`).

    >>> t = pd.DataFrame({"n": [2319, 45], "hr": [1.5, 0.25]})
    >>> format_table(t, "nl").to_dict("list")
    {'n': ['2.319', '45'], 'hr': ['1,50', '0,25']}
    """
    lang = report_lang(lang)
    # A name on the columns ("terug binnen" over "4 weken", "3 maanden") would take the
    # index's place in the header and shift every row by one cell: it becomes a header
    # spanning those columns instead.
    over = df.columns.name if not isinstance(df.columns, pd.MultiIndex) else None
    out = df.rename_axis(columns=[None] * df.columns.nlevels)
    n_index = 0
    if _meaningful_index(df.index):
        names = [n if n is not None else "" for n in df.index.names]
        if over is not None and names == [""]:  # the columns' name titles the row labels,
            names, over = [str(over)], None     # as pandas itself shows it
        n_index = len(names)
        out = out.copy()
        out.index = out.index.set_names(names)
        out = out.reset_index(allow_duplicates=True)
    else:
        out = out.reset_index(drop=True)
    cells = {i: format_cells(out.iloc[:, i], lang, out.columns[i]) for i in range(out.shape[1])}
    formatted = pd.DataFrame(cells, index=out.index)
    formatted.columns = out.columns
    if over is not None and str(over):
        formatted.columns = pd.MultiIndex.from_tuples(
            [("" if i < n_index else str(over), c) for i, c in enumerate(out.columns)])
    return formatted


def table_html(df: pd.DataFrame, lang: str | None = None, classes: str | None = None) -> str:
    """A table as HTML in the report's language, without an index column, cells escaped
    (pandas' ``dataframe`` class, plus ``classes``)."""
    return format_table(df, lang).to_html(index=False, na_rep="", border=0, classes=classes,
                                          escape=True)


# --------------------------------------------------------------------------- figures


def _clean(text: str) -> str:
    """A matplotlib label as plain words: no mathtext dollars, one line, no stray spaces."""
    return re.sub(r"\s+", " ", str(text).replace("$", "")).strip()


def figure_alt(fig, lang: str | None = None, max_items: int = 8) -> str:
    """Alt text for a matplotlib figure in the report's language, from what the figure says
    itself: its title(s), axis labels and legend entries; "" when it says nothing.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.set(title="Terugkeer", xlabel="Dagen", ylabel="Aandeel")
    >>> figure_alt(fig, "nl")
    'Figuur: Terugkeer. Horizontale as: Dagen. Verticale as: Aandeel.'
    >>> plt.close(fig)
    """
    from .messages import t

    lang = report_lang(lang)
    titles, xs, ys, items = [], [], [], []

    def add(seq: list[str], text: str) -> None:
        text = _clean(text)
        if text and text not in seq and not text.startswith("_"):
            seq.append(text)

    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None:
        add(titles, suptitle.get_text())
    for ax in fig.get_axes():
        for loc in ("center", "left", "right"):
            add(titles, ax.get_title(loc))
        add(xs, ax.get_xlabel())
        add(ys, ax.get_ylabel())
        legend = ax.get_legend()
        if legend is not None:
            for text in legend.get_texts():
                add(items, text.get_text())
    for legend in getattr(fig, "legends", []):
        for text in legend.get_texts():
            add(items, text.get_text())
    if not (titles or xs or ys or items):
        return ""
    parts = [t("figure_alt_title", lang, title="; ".join(titles)) if titles
             else t("figure_alt_plain", lang)]
    if xs:
        parts.append(t("figure_alt_x", lang, label="; ".join(xs)))
    if ys:
        parts.append(t("figure_alt_y", lang, label="; ".join(ys)))
    if items:
        parts.append(t("figure_alt_legend", lang, items=", ".join(items[:max_items])))
    return " ".join(parts)


def describe_figures(ip, lang: str | None = None) -> None:
    """In a notebook kernel: every matplotlib figure shown as PNG carries ``alt`` text
    (:func:`figure_alt`) in its output metadata, which the report puts on the image.

    The inline backend registers its own PNG formatter when pyplot is first imported, which
    may be after this call; the wrapper is therefore re-installed before each cell and
    before the backend shows the cell's figures (post_execute)."""
    from matplotlib.figure import Figure

    lang = report_lang(lang)
    png = ip.display_formatter.formatters["image/png"]

    def install(*_: object) -> None:
        try:
            inner = png.lookup_by_type(Figure)
        except KeyError:
            return
        if getattr(inner, "_thuiszit_alt", None) == lang:
            return
        inner = getattr(inner, "_thuiszit_inner", inner)

        def with_alt(fig):
            out = inner(fig)
            data, md = out if isinstance(out, tuple) and len(out) == 2 else (out, None)
            alt = figure_alt(fig, lang)
            if data is None or not alt:
                return out
            return data, {**(md or {}), "alt": alt}

        with_alt._thuiszit_alt = lang  # type: ignore[attr-defined]
        with_alt._thuiszit_inner = inner  # type: ignore[attr-defined]
        png.for_type(Figure, with_alt)

    install()
    if not getattr(ip, "_thuiszit_alt_hooks", False):
        for event in ("pre_run_cell", "post_execute"):
            ip.events.register(event, install)
        ip._thuiszit_alt_hooks = True

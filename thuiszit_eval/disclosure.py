"""Statistical disclosure control of everything the report and ``analyse`` publish.

A published report must not let a reader recover a pupil or a small group of pupils:

- :func:`scan_report` reads a rendered page (and :func:`scan_table` a CSV table) and lists
  every *finding*: a pupil/episode id, a count below the minimum cell size in a count
  column, a count that a share and its denominator give back ("2,1% of 191" ⇒ 4 pupils,
  also in prose: "36,4% van 11"), and a suppressed cell that a shown total gives back
  (total minus the shown cells). An empty list means the scan passed.
- :func:`share_is_safe` says whether a share may be shown at all: its numerator and its
  complement must both be at least ``min_cell``.
- :func:`publishable_survival_table` coarsens a Kaplan–Meier table so that no count a
  reader can derive from it (events, censorings, differences of the numbers at risk,
  n_risk·(1 − surv ratio), the Greenwood increments) lies in 1..min_cell − 1;
  :func:`derived_counts` computes those counts from a written table, for the scan and tests.
- :func:`escape_markdown` makes a cohort's own text (cohort name, region names, field
  names) inert in Markdown, which passes raw HTML through.
- :func:`scrub_notebook` removes local paths from an executed notebook saved beside the
  report (papermill records the cohort folder in a cell and in the metadata).

Example
-------
>>> share_is_safe(4, 191, 10), share_is_safe(40, 191, 10)
(False, True)
>>> scan_report("<p>Van de leerlingen keerde 36,4% van 11 terug.</p>", set(), 10)
['text: "36,4% van 11" gives back a count below 10 (4 of 11)']
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd

#: Column headers that hold counts of pupils or episodes in a rendered table.
COUNT_HEADER = re.compile(
    r"^(n|n_.*|.*_n|n \(%\)|count|counts|aantal.*|n risk|at risk|episodes|pupils|leerlingen|"
    r"rows.*|rijen.*|events?|n_events?|n_risk|n_at_risk|n_censor|observed|returns|"
    r"terugkeren|teruggekeerd|trajecten|voldaan|niet voldaan|stap gezet|met stap|"
    r"waargenomen|in de risicoset)$",
    flags=re.I,
)
#: Headers that look like counts but count no pupils (simulations, bootstrap draws, terms).
NOT_A_PERSON_COUNT = re.compile(
    r"^n_(sims?|boot|bootstrap|draws|terms|covariates|imputations|iter|iterations|folds|"
    r"params|df|times|taus)$", flags=re.I)
#: Count columns that can be the denominator of a share in the same row (not events).
DENOMINATOR_HEADER = re.compile(
    r"^(n|count|aantal( episodes| leerlingen)?|episodes|pupils|leerlingen|n_risk|n risk|"
    r"at risk|n_at_risk|in de risicoset)$", flags=re.I)
#: Row labels of a total row (its count minus the shown cells gives a suppressed cell back).
TOTAL_LABEL = re.compile(r"^(total|totaal|all|alle|all episodes|alle episodes|overall|"
                         r"all pupils|alle leerlingen|__all__)$", flags=re.I)
#: The header of a column of confidence limits ("95% CI", "95%-BI", "interval"): its
#: percentages bound an estimate, they are not shares of the row's pupils.
INTERVAL_HEADER = re.compile(r"(\b|\d%[- ]?)(CI|BI)\b|betrouwbaarheidsinterval|"
                             r"confidence interval|\binterval\b", flags=re.I)
#: A suppressed cell as the package writes it: "<10", "onderdrukt …", "suppressed …", and
#: the front page's secondary suppression "niet getoond …" / "not shown …".
SUPPRESSED_CELL = re.compile(r"^\s*(<\s*\d+|onderdrukt.*|suppressed.*|minder dan \d+|"
                             r"fewer than \d+|niet getoond.*|not shown.*)\s*$", flags=re.I)

_NUM = r"\d{1,3}(?:[.,\u00a0\u202f ]\d{3})+|\d+"
_PCT = r"(\d+(?:[.,]\d+)?)\s?%"
#: "2,1% of 191", "36,4% van 11", "46% (40%–52%) van de 120", "12% (n = 150)", "5% van 1.234"
_SHARE_OF = re.compile(
    _PCT + r"(?:\s*\([^()]{0,40}\))?\s*(?:of|van|van de|van alle|of the|of all|uit)\s+"
    r"(" + _NUM + r")(?![\d%])"
    r"|" + _PCT + r"\s*\(\s*n\s*=\s*(" + _NUM + r")\s*\)",
    flags=re.I)
#: "45 (37%)", "45 (37,2%)": a count with its share of a total not shown
_COUNT_SHARE = re.compile(r"^\s*(" + _NUM + r")\s*\(\s*" + _PCT + r"\s*\)")
_LEADING_PCT = re.compile(r"^\s*" + _PCT)


# --------------------------------------------------------------------------- shares


def share_is_safe(k: float, n: float, min_cell: int = 10) -> bool:
    """Whether the share ``k / n`` may be shown: the group has at least ``min_cell``
    members and the numerator and its complement are each 0 or at least ``min_cell`` (0%
    and 100% say "nobody" and "everybody", no small cell).

    Counts need not be whole (a weighted or Kaplan–Meier numerator): they are rounded.

    >>> share_is_safe(4, 191), share_is_safe(187, 191), share_is_safe(95, 191)
    (False, False, True)
    >>> share_is_safe(0, 191), share_is_safe(0, 5)
    (True, False)
    """
    if not (np.isfinite(k) and np.isfinite(n)) or n < min_cell:
        return False
    k, rest = round(float(k)), round(float(n) - float(k))
    return all(c == 0 or c >= min_cell for c in (k, rest))


def shown_share_is_safe(p: float, n: float, min_cell: int = 10, digits: int = 0) -> bool:
    """Whether the share ``p`` (0–1) of ``n``, shown with ``digits`` decimals, may be shown:
    the count behind it (``p·n``, rounded) and its complement are safe
    (:func:`share_is_safe`), and so is every whole count a reader can take the share *as
    written* to be (what :func:`scan_report` checks: "3% of 350" may be 9 pupils). A
    Kaplan–Meier or Aalen–Johansen share is no exact fraction; ``p·n`` stands for its count.

    >>> shown_share_is_safe(0.03, 350), shown_share_is_safe(0.10, 350)
    (False, True)
    >>> shown_share_is_safe(0.0, 350), shown_share_is_safe(0.5, 8)
    (True, False)
    """
    if p is None or n is None or not (np.isfinite(p) and np.isfinite(n)):
        return False
    if not share_is_safe(p * n, n, min_cell):
        return False
    return _share_finding(f"{100 * p:.{digits}f}", n, min_cell) is None


def _number(text: str) -> float | None:
    """An integer as written in a report: 1.234 / 1,234 / 1 234 (thousands) or 191."""
    digits = re.sub(r"[.,\u00a0\u202f ]", "", text)
    return float(digits) if digits.isdigit() else None


def _pct(text: str) -> tuple[float, float]:
    """A percentage as written (2,1 / 2.1 / 46) and half the width of its rounding."""
    text = text.replace(",", ".")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return float(text), 0.5 * 10 ** -decimals


def counts_behind_share(pct: float, half_width: float, n: float) -> range:
    """The whole numbers ``k`` with ``100·k/n`` within ``pct ± half_width``: the counts a
    reader can take a shown share of ``n`` to be.

    >>> list(counts_behind_share(2.1, 0.05, 191)), list(counts_behind_share(36.4, 0.05, 11))
    ([4], [4])
    """
    lo = max(0, math.ceil(n * (pct - half_width) / 100 - 1e-9))
    hi = min(int(n), math.floor(n * (pct + half_width) / 100 + 1e-9))
    return range(lo, hi + 1)


def _small(x: float, min_cell: int) -> bool:
    return 1 <= x <= min_cell - 1


def _share_finding(pct_text: str, n: float, min_cell: int) -> tuple[int, int] | None:
    """(k, n) when a share of ``n`` gives back a count or complement below ``min_cell``:
    a whole count consistent with the share as written, or the share times ``n`` rounded
    (a Kaplan–Meier share is no exact fraction, but close to one)."""
    pct, h = _pct(pct_text)
    if pct in (0.0, 100.0) and n >= min_cell:
        return None  # nobody / everybody
    for k in [*counts_behind_share(pct, h, n), round(n * pct / 100)]:
        if not share_is_safe(k, n, min_cell):
            return int(k), int(n)
    return None


# --------------------------------------------------------------------------- the scan


def scan_report(html_text: str, ids: Iterable[str], min_cell: int = 10) -> list[str]:
    """Privacy findings in a rendered report; an empty list means it may be published.

    A finding is: a pupil/episode id anywhere in the page; a count from 1 to
    ``min_cell − 1`` in a count column of a table; a share with its denominator that
    gives back such a count, in a table row (a share beside the row's n) or in the text
    ("2,1% of 191", "36,4% van 11"); a suppressed count that a total row gives back (the
    total minus the shown cells).

    >>> page = "<table><tr><th>group</th><th>n</th></tr><tr><td>a</td><td>7</td></tr></table>"
    >>> scan_report(page, {"P0001x"}, 10)
    ["table 1, column 'n': 1 counts below 10"]
    """
    findings = []
    ids = set(ids)
    present = set(re.findall(r"[A-Za-z0-9_-]{4,64}", html_text))
    leaked = sorted(ids & present)
    if leaked:
        findings.append(f"{len(leaked)} pupil/episode ids appear in the report")
    for i, table in enumerate(_tables(html_text)):
        findings += scan_table(table, min_cell, where=f"table {i + 1}")
    findings += scan_text(_visible_text(html_text), min_cell)
    return findings


def scan_text(text: str, min_cell: int = 10) -> list[str]:
    """Shares in running text that give back a small count: "2,1% of 191", "36,4% van 11".

    >>> scan_text("Back within 4 weeks: 2.1% of 191 episodes; 46% of 120.", 10)
    ['text: "2.1% of 191" gives back a count below 10 (4 of 191)']
    """
    out = []
    for m in _SHARE_OF.finditer(text):
        pct_text, n_text = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        n = _number(n_text)
        if n is None:
            continue
        hit = _share_finding(pct_text, n, min_cell)
        if hit:
            out.append(f'text: "{m.group(0)}" gives back a count below {min_cell} '
                       f"({hit[0]} of {hit[1]})")
    return out


def _header(col: object) -> str:
    """A rendered column header as one string, without pandas' "Unnamed: 1_level_1"."""
    parts = col if isinstance(col, tuple) else (col,)
    return " ".join(str(p) for p in parts if not str(p).startswith("Unnamed:")).strip()


def _leading_count(cells: pd.Series) -> pd.Series:
    """The count a cell shows: "45", "1.234", "45 (37%)" → 45, 1234, 45; text → NaN."""
    lead = cells.str.extract(r"^\s*(\d{1,3}(?:[.\u00a0\u202f ]\d{3})+|\d+)\s*(?:\(|$)")[0]
    return pd.to_numeric(lead.str.replace(r"[.\s\u00a0\u202f]", "", regex=True),
                         errors="coerce")


def scan_table(table: pd.DataFrame, min_cell: int = 10, where: str = "table") -> list[str]:
    """Findings in one table (as rendered or as written to CSV): small counts in count
    columns; shares that give a count back with the row's denominator (a share of n is
    shown only where it and its complement are both at least ``min_cell``, see
    :func:`share_is_safe`) or with the count beside them ("45 (96%)"); shares beside or
    below a suppressed count (their denominator is small); a single suppressed cell beside a
    total row (the total minus the shown cells).

    >>> t = pd.DataFrame({"group": ["all", "a", "b"], "episodes": ["50", "<10", "45"],
    ...                   "back within 4 weeks": ["30%", "", "2,2%"]})
    >>> for f in scan_table(t, 10): print(f)
    table, column 'back within 4 weeks', row 3: the share 2,2% of 45 gives back 1
    table, column 'episodes': the suppressed cell is the total minus the shown cells
    """
    findings = []
    names = [_header(c) for c in table.columns]
    text = table.astype(str).apply(lambda c: c.str.strip())
    text.columns = range(len(names))
    count_cols = [j for j, n in enumerate(names) if COUNT_HEADER.match(n)
                  and not NOT_A_PERSON_COUNT.match(n)]
    counts = {j: _leading_count(text[j]) for j in count_cols}
    for j in count_cols:
        small = counts[j][(counts[j] >= 1) & (counts[j] < min_cell)]
        if len(small):
            findings.append(f"{where}, column {names[j]!r}: {len(small)} counts below "
                            f"{min_cell}")
    denom = next((j for j in count_cols if DENOMINATOR_HEADER.match(names[j])), None)
    suppressed = text.apply(lambda c: c.str.match(SUPPRESSED_CELL))
    for j in range(len(names)):
        for r, cell in enumerate(text[j]):
            m = _COUNT_SHARE.match(cell)
            if m:  # "45 (96%)": the total is 45 / 0.96, its rest 2
                k = _number(m.group(1))
                pct, h = _pct(m.group(2))
                if k and pct - h > 0:
                    lo, hi = k * 100 / (pct + h) - k, k * 100 / (pct - h) - k
                    first = max(1, math.ceil(lo - 1e-9))
                    if first <= min(min_cell - 1, math.floor(hi + 1e-9)) or _small(k, min_cell):
                        findings.append(f"{where}, column {names[j]!r}, row {r + 1}: "
                                        f"{cell} gives back a count below {min_cell}")
                continue
            if j in count_cols or INTERVAL_HEADER.search(names[j]):
                continue  # a confidence limit is not a share of the row's pupils
            m = _LEADING_PCT.match(cell)
            if not m or _pct(m.group(1))[0] in (0.0, 100.0):
                continue
            if any(suppressed.iloc[r, c] for c in count_cols):
                findings.append(f"{where}, column {names[j]!r}, row {r + 1}: the share "
                                f"{m.group(1)}% stands beside a suppressed count")
                continue
            n = counts[denom].iloc[r] if denom is not None else np.nan
            if np.isfinite(n):
                hit = _share_finding(m.group(1), n, min_cell)
                if hit:
                    findings.append(f"{where}, column {names[j]!r}, row {r + 1}: the share "
                                    f"{m.group(1)}% of {hit[1]} gives back {hit[0]}")
    # a share in a column that also holds a suppressed count: a share of a small number
    for j in range(len(names)):
        pcts = text[j].str.extract(r"^" + _PCT)[0].dropna()
        pcts = pcts[~pcts.map(lambda x: _pct(x)[0] in (0.0, 100.0))]
        if len(pcts) and text[j].str.match(r"^<\s*\d+$").any() and j not in count_cols:
            findings.append(f"{where}, column {names[j]!r}: shares beside a suppressed count")
    total = text.apply(lambda c: c.str.match(TOTAL_LABEL)).any(axis=1)
    if total.sum() == 1 and len(text) > 2:
        for j in count_cols:
            rest = text.loc[~total.to_numpy(), j]
            if rest.str.match(SUPPRESSED_CELL).sum() == 1:
                findings.append(f"{where}, column {names[j]!r}: the suppressed cell is the "
                                "total minus the shown cells")
    return findings


def scan_csv(path: str | Path, ids: Iterable[str], min_cell: int = 10) -> list[str]:
    """Findings in a written CSV table: ids, the checks of :func:`scan_table` and, for a
    survival table, every count :func:`derived_counts` can compute from it."""
    path = Path(path)
    raw = path.read_text(encoding="utf-8")
    findings = []
    leaked = sorted(set(ids) & set(re.findall(r"[A-Za-z0-9_-]{4,64}", raw)))
    if leaked:
        findings.append(f"{path.name}: {len(leaked)} pupil/episode ids")
    try:
        table = pd.read_csv(StringIO(raw), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError):
        return findings
    findings += scan_table(table, min_cell, where=path.name)
    derived = derived_counts(table, min_cell)
    if len(derived):
        kinds = ", ".join(sorted(set(derived["kind"])))
        findings.append(f"{path.name}: {len(derived)} counts below {min_cell} can be "
                        f"derived ({kinds})")
    return findings


def scan_outputs(folder: str | Path, ids: Iterable[str], min_cell: int = 10,
                 local_paths: Iterable[str] = ()) -> list[str]:
    """Every finding in what the report wrote to ``folder``: ``report.html``, every CSV,
    the executed notebooks (ids in their outputs, local paths anywhere) and the kernels'
    log beside them (``notebooks/*.log``: any absolute path, see :func:`scrub_log`)."""
    folder = Path(folder)
    ids = set(ids)
    findings = []
    page = folder / "report.html"
    if page.exists():
        findings += [f"report.html: {f}" for f in
                     scan_report(page.read_text(encoding="utf-8"), ids, min_cell)]
    for csv in sorted(folder.rglob("*.csv")):
        findings += scan_csv(csv, ids, min_cell)
    paths = [p for p in local_paths if p]
    for log in sorted(folder.glob("notebooks/*.log")):  # the kernels' messages
        text = log.read_text(encoding="utf-8", errors="replace")
        if any(p in text for p in paths) or _ABS_PATH.search(_ANSI.sub("", text)):
            findings.append(f"notebooks/{log.name}: a local path")
    for nb in sorted(folder.glob("notebooks/*.ipynb")):
        text = nb.read_text(encoding="utf-8")
        leaked = sorted(ids & set(re.findall(r"[A-Za-z0-9_-]{4,64}", text)))
        if leaked:
            findings.append(f"notebooks/{nb.name}: {len(leaked)} pupil/episode ids")
        if any(p in text or json.dumps(p)[1:-1] in text for p in paths):
            findings.append(f"notebooks/{nb.name}: a local path")
    return findings


def _tables(html_text: str) -> list[pd.DataFrame]:
    """Every <table> of a page as text cells, as a reader sees them ("2.319" stays 2.319
    pupils, not a decimal; pandas.read_html would read numbers in its own locale)."""
    from lxml import html as lxml_html

    try:
        doc = lxml_html.fromstring(html_text)
    except Exception:  # no markup at all
        return []
    out = []
    for table in doc.iter("table"):
        head, body = [], []
        for tr in table.iter("tr"):
            if tr.getparent() is not None and tr.getparent().getparent() is not table and \
                    tr.getparent() is not table:
                continue  # a row of a nested table
            cells = []
            for cell in tr:
                if cell.tag not in ("td", "th"):
                    continue
                span = int(cell.get("colspan", "1") or 1) if str(
                    cell.get("colspan", "1")).isdigit() else 1
                cells += [" ".join(cell.text_content().split())] * span
            in_head = tr.getparent() is not None and tr.getparent().tag == "thead"
            (head if in_head or (not body and not head and all(
                c.tag == "th" for c in tr if c.tag in ("td", "th"))) else body).append(cells)
        width = max((len(r) for r in head + body), default=0)
        if not width:
            continue
        names = [" ".join(r[j] for r in head if j < len(r) and r[j]).strip() or f"column {j}"
                 for j in range(width)]
        rows = [r + [""] * (width - len(r)) for r in body]
        names = [f"{n}" if names.count(n) == 1 else f"{n} ({j})" for j, n in enumerate(names)]
        out.append(pd.DataFrame(rows, columns=names, dtype=object))
    return out


def _visible_text(html_text: str) -> str:
    """The page's text without style and script elements, tables included."""
    from lxml import html as lxml_html

    try:
        doc = lxml_html.fromstring(html_text)
    except Exception:  # an empty or broken fragment: scan the raw text
        return re.sub(r"<[^>]+>", " ", html_text)
    for node in doc.xpath("//style|//script"):
        node.drop_tree()
    return " ".join(doc.text_content().split())


# --------------------------------------------------------------------------- survival tables

_KM_COUNTS = ("n_risk", "n_event", "n_censor")


def derived_counts(table: pd.DataFrame, min_cell: int = 10) -> pd.DataFrame:
    """Every count from 1 to ``min_cell − 1`` a reader can compute from a survival table
    (columns ``time``, ``n_risk`` and some of ``n_event``, ``n_censor``, ``surv``,
    ``std_err_log``, by ``group`` and ``state``/``cause`` if present), as rows
    (group, time, kind, value). Empty = nothing small can be derived.

    Per pair of consecutive rows a, b of a group: the shown counts; n_risk(a) − n_risk(b);
    n_risk(a) − n_event(a) − n_censor(a) − n_risk(b) (entries, or a hidden remainder);
    n_risk·(1 − surv(b)/surv(a)) with the n at risk of a and of b (exact for adjacent
    Kaplan–Meier rows: the events at b); the events the Greenwood variance gives back,
    x·n²/(1 + x·n) with x the increase of std_err_log²; for the first row the same from
    surv = 1 before it; for the last row, its n_risk minus its events and censorings.
    Suppressed cells ("<10") and missing values give nothing.

    >>> t = pd.DataFrame({"time": [5, 9], "n_risk": [40, 36], "n_event": [4, "<10"],
    ...                   "surv": [0.9, 0.825]})
    >>> derived_counts(t, 10)["kind"].tolist()
    ['n_event', 'surv ratio', 'surv ratio', 'surv ratio', 'n_risk difference']
    """
    cols = set(table.columns)
    if not {"time", "n_risk"} <= cols:
        return pd.DataFrame(columns=["group", "time", "kind", "value"])
    num = {c: pd.to_numeric(table[c], errors="coerce") for c in
           ("time", "n_risk", "n_event", "n_censor", "surv", "std_err_log") if c in cols}
    keys = [c for c in ("group", "state", "cause") if c in cols]
    groups = table.groupby(keys, sort=False).indices if keys else {"": np.arange(len(table))}
    out = []

    def add(g, t, kind, v):
        if np.isfinite(v) and 0.5 <= v < min_cell - 0.5:
            out.append((g, t, kind, float(v)))

    for g, idx in groups.items():
        idx = np.asarray(idx)[np.argsort(num["time"].to_numpy()[idx], kind="stable")]
        col = {c: v.to_numpy(float)[idx] for c, v in num.items()}
        times = col["time"]
        for i in range(len(idx)):
            t = times[i]
            for c in ("n_risk", "n_event", "n_censor"):
                if c in col:
                    add(g, t, c, col[c][i])
            s_prev = col["surv"][i - 1] if "surv" in col and i > 0 else 1.0
            var_prev = col["std_err_log"][i - 1] ** 2 if "std_err_log" in col and i > 0 else 0
            if "surv" in col and s_prev > 0:
                ratio = 1 - col["surv"][i] / s_prev
                add(g, t, "surv ratio", col["n_risk"][i] * ratio)
                if i > 0:
                    add(g, t, "surv ratio", col["n_risk"][i - 1] * ratio)
            if "std_err_log" in col:
                x = col["std_err_log"][i] ** 2 - var_prev
                n = col["n_risk"][i]
                if np.isfinite(x) and x > 0:
                    add(g, t, "greenwood", x * n * n / (1 + x * n))
            if i > 0:
                add(g, t, "n_risk difference", col["n_risk"][i - 1] - col["n_risk"][i])
                if "n_event" in col and "n_censor" in col:
                    add(g, t, "hidden remainder", abs(col["n_risk"][i - 1] - col["n_event"][i - 1]
                                                      - col["n_censor"][i - 1] - col["n_risk"][i]))
        if len(idx) and "n_event" in col and "n_censor" in col:
            last = -1
            add(g, times[last], "left at risk",
                col["n_risk"][last] - col["n_event"][last] - col["n_censor"][last])
    return pd.DataFrame(out, columns=["group", "time", "kind", "value"])


def _sig(x: np.ndarray, digits: int = 6) -> np.ndarray:
    """Round to ``digits`` significant digits, as the CSV writer (%.6g) shows them."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where((x == 0) | ~np.isfinite(x), 0, np.floor(np.log10(np.abs(x))))
    scale = 10.0 ** (digits - 1 - mag)
    return np.where(np.isfinite(x), np.round(x * scale) / scale, x)


def publishable_survival_table(table: pd.DataFrame, min_cell: int = 10,
                               cuts: Iterable[float] = ()) -> pd.DataFrame:
    """A Kaplan–Meier table (one row per distinct time, as ``KaplanMeier.table``) made safe
    to publish: rows are merged into intervals so that every count a reader can derive
    (see :func:`derived_counts`) is 0 or at least ``min_cell``.

    A row of the result stands for the interval since the previous row: ``n_risk`` at its
    start, ``n_event`` and ``n_censor`` within it, and ``surv``, ``std_err``,
    ``std_err_log``, ``lower``, ``upper`` at its end (``time``), rounded to 6 significant
    digits as written. The curve stops where fewer than ``min_cell`` pupils remain at
    risk, at a row after which the events and the censorings still to come are each 0 or
    at least ``min_cell`` (a total shown elsewhere would give them back). ``cuts`` (e.g. 28,
    91, 182, 365 days) are times no interval may span, so that estimates shown at those
    times add nothing a reader can subtract; such a time is dropped when no safe interval
    ends there.

    >>> from thuiszit_eval.survival import kaplan_meier
    >>> d = pd.DataFrame({"t": np.arange(1, 61), "e": [1, 1, 0] * 20})
    >>> safe = publishable_survival_table(kaplan_meier(d, "t", "e").table, 10)
    >>> derived_counts(safe, 10).empty, int(safe["n_event"].min()) >= 10
    (True, True)
    """
    keys = [c for c in ("group",) if c in table.columns]
    parts = []
    for _, g in (table.groupby(keys, sort=False) if keys else [(None, table)]):
        parts.append(_coarsen(g.sort_values("time", kind="stable").reset_index(drop=True),
                              min_cell, sorted(float(c) for c in cuts)))
    parts = [p for p in parts if len(p)]
    out = pd.concat(parts, ignore_index=True) if parts else table.iloc[:0].copy()
    return out[list(table.columns)].reset_index(drop=True)


def publishable_at_times(table: pd.DataFrame, safe: pd.DataFrame,
                         times: Iterable[float]) -> pd.DataFrame:
    """The Kaplan–Meier estimates at fixed ``times`` (as ``KaplanMeier.at_times``: one row
    per group and time), given only where they add nothing to the safe curve ``safe``
    (from :func:`publishable_survival_table` on the full curve ``table``): where an
    interval of the safe curve ends on the time's last curve row, so that its counts
    (since the previous time given) are sums of the safe intervals. At other times the
    counts and estimates are left empty.

    >>> from thuiszit_eval.survival import kaplan_meier
    >>> d = pd.DataFrame({"t": np.arange(1, 61), "e": [1, 1, 0] * 20})
    >>> full = kaplan_meier(d, "t", "e").table
    >>> at = publishable_at_times(full, publishable_survival_table(full, 10, (30,)), (30, 40))
    >>> at[["time", "n_risk", "n_event", "n_censor"]].values.tolist()
    [[30.0, 30.0, 20.0, 10.0], [40.0, nan, nan, nan]]
    """
    keys = "group" in table.columns
    out = []
    for g, raw in (table.groupby("group", sort=False) if keys else [(None, table)]):
        sg = safe[safe["group"] == g] if keys else safe
        sg = sg.sort_values("time", kind="stable").reset_index(drop=True)
        raw = raw.sort_values("time", kind="stable")
        raw_t = raw["time"].to_numpy(float)
        prev = -np.inf
        for time in sorted(float(x) for x in times):
            rec: dict[str, object] = {"group": g, "time": time}
            before = raw_t[raw_t <= time]
            hit = sg.index[sg["time"].to_numpy(float) == before[-1]] if len(before) else []
            if len(before) == 0:  # nothing has happened yet
                rec.update(n_risk=float(raw["n_risk"].iloc[0]), n_event=0.0, n_censor=0.0,
                           surv=1.0, std_err=0.0, lower=1.0, upper=1.0)
            elif len(hit):
                i = hit[0]
                row = sg.loc[i]
                since = sg[(sg["time"] > prev) & (sg["time"] <= before[-1])]
                nxt = sg.loc[i + 1, "n_risk"] if i + 1 < len(sg) else (
                    row["n_risk"] - row["n_event"] - row["n_censor"])
                rec.update(n_risk=float(nxt), n_event=float(since["n_event"].sum()),
                           n_censor=float(since["n_censor"].sum()),
                           **{c: row[c] for c in ("surv", "std_err", "lower", "upper")})
                prev = before[-1]
            out.append(rec)
    cols = ["group", "time", "n_risk", "n_event", "n_censor", "surv", "std_err", "lower",
            "upper"]
    res = pd.DataFrame(out, columns=cols)
    res[cols[1:]] = res[cols[1:]].astype(float)
    if not keys:
        res = res.drop(columns="group")
    res["returned"] = 1 - res["surv"]
    res["returned_lower"] = 1 - res["upper"]
    res["returned_upper"] = 1 - res["lower"]
    return res


def _ok(x: float, m: int) -> bool:
    return not (0.5 <= x < m - 0.5)


def _coarsen(g: pd.DataFrame, m: int, cuts: list[float]) -> pd.DataFrame:
    """Greedy intervals over one group's KM rows (see :func:`publishable_survival_table`)."""
    t = g["time"].to_numpy(float)
    nr, ev, ce = (g[c].to_numpy(float) for c in _KM_COUNTS)
    surv = _sig(g["surv"].to_numpy(float))
    var = _sig(g["std_err_log"].to_numpy(float)) ** 2 if "std_err_log" in g else None
    n_rows = len(g)
    nr_next = np.append(nr[1:], 0.0)  # at risk at the start of the next interval
    cum_ev, cum_ce = np.cumsum(ev), np.cumsum(ce)

    def valid(s: int, e: int, s_prev: float, v_prev: float, first: bool) -> bool:
        e_sum = cum_ev[e] - (cum_ev[s - 1] if s else 0)
        c_sum = cum_ce[e] - (cum_ce[s - 1] if s else 0)
        rest = nr[s] - e_sum - c_sum
        entries = nr_next[e] - rest if e + 1 < n_rows else 0.0
        if nr[s] < m or not all(_ok(x, m) for x in (e_sum, c_sum, rest, entries)):
            return False
        if e + 1 < n_rows and not _ok(nr_next[e], m):
            return False
        ratio = 1 - surv[e] / s_prev if s_prev > 0 else 0.0
        if not (_ok(nr[s] * ratio, m) and _ok(nr_next[e] * ratio, m)):
            return False
        if not first and not _ok(rest * ratio, m):
            return False
        if var is not None and np.isfinite(var[e]):
            x = var[e] - v_prev
            if x > 0 and not _ok(x * nr[s] ** 2 / (1 + x * nr[s]), m):
                return False
        return True

    chosen: list[int] = []  # end rows of the intervals
    s, s_prev, v_prev = 0, 1.0, 0.0
    while s < n_rows and nr[s] >= m:
        # the interval may not span a cut: its end is at most the last row at or before
        # the next cut after t[s] (a cut with no safe interval ending on it is dropped)
        limit, at_cut = n_rows - 1, False
        for c in cuts:
            if c >= t[s]:
                last = int(np.searchsorted(t, c, side="right")) - 1
                if last >= s and valid(s, last, s_prev, v_prev, not chosen):
                    limit, at_cut = last, True
                    break
        e = None
        for end in range(s, limit + 1):
            # an interval ending here must still let the next one end at the cut
            if valid(s, end, s_prev, v_prev, not chosen) and (
                    not at_cut or end == limit or valid(
                        end + 1, limit, surv[end], var[end] if var is not None else 0.0,
                        False)):
                e = end
                break
        if e is None:
            break
        chosen.append(e)
        s, s_prev = e + 1, surv[e]
        v_prev = var[e] if var is not None and np.isfinite(var[e]) else v_prev
    # the curve ends where what is still to come (events, censorings) is 0 or >= m
    while chosen:
        e = chosen[-1]
        if all(_ok(x, m) for x in (cum_ev[-1] - cum_ev[e], cum_ce[-1] - cum_ce[e])):
            break
        chosen.pop()
    rows = []
    start = 0
    for e in chosen:
        r = g.iloc[e].copy()
        r["n_risk"] = nr[start]
        r["n_event"] = cum_ev[e] - (cum_ev[start - 1] if start else 0)
        r["n_censor"] = cum_ce[e] - (cum_ce[start - 1] if start else 0)
        rows.append(r)
        start = e + 1
    out = pd.DataFrame(rows, columns=g.columns)
    for c in ("surv", "std_err", "std_err_log", "lower", "upper"):
        if c in out:
            out[c] = _sig(out[c].to_numpy(float))
    return out


def publishable_cumulative_incidence(ci: pd.DataFrame, data: pd.DataFrame, group: str,
                                     min_cell: int = 10) -> pd.DataFrame:
    """The Aalen–Johansen table at fixed times (``group, time, state, ...``) with its
    estimates given only at the times at which a reader cannot take a small count from
    them: the endings of that kind since the previous time given, and the episodes not
    (yet) ending so, are each 0 or at least ``min_cell`` (the cumulative incidence times
    the group's size gives them back). Elsewhere ``pstate`` and its interval are empty.

    >>> d = pd.DataFrame({"duration": [5] * 12 + [40] * 3 + [200] * 20, "event": 1, "g": "a"})
    >>> ci = pd.DataFrame({"group": "a", "time": [28, 91], "state": 1, "pstate": [.34, .43]})
    >>> publishable_cumulative_incidence(ci, d, "g", 10)["pstate"].tolist()
    [0.34, nan]
    """
    ci = ci.reset_index(drop=True).copy()
    keep = np.zeros(len(ci), dtype=bool)
    dur = pd.to_numeric(data["duration"], errors="coerce").to_numpy(float)
    ev = pd.to_numeric(data["event"], errors="coerce").to_numpy(float)
    grp = data[group].astype(str).to_numpy()
    for (g, state), rows in ci.groupby(["group", "state"], sort=False).groups.items():
        in_g = grp == str(g)
        n = int(in_g.sum())
        prev = 0
        for i in sorted(rows, key=lambda r: ci.loc[r, "time"]):
            c = int(((ev == state) & (dur <= float(ci.loc[i, "time"])) & in_g).sum())
            if _ok(c - prev, min_cell) and _ok(n - c, min_cell) and n >= min_cell:
                keep[i] = True
                prev = c
    values = [c for c in ("pstate", "std_err", "lower", "upper") if c in ci.columns]
    ci[values] = ci[values].astype(float)
    ci.loc[~keep, values] = np.nan
    return ci


def publishable_analysis(tables: dict[str, pd.DataFrame], km_table: pd.DataFrame,
                         data: pd.DataFrame, group: str, min_cell: int = 10,
                         times: Iterable[float] = (28, 91, 182, 365)
                         ) -> dict[str, pd.DataFrame]:
    """The tables of :func:`thuiszit_eval.analyse.analyse_cohort` made safe to publish:
    the Kaplan–Meier curve coarsened (:func:`publishable_survival_table`, no interval
    spanning one of ``times``), the estimates at ``times`` only where they add nothing to
    it, the cumulative incidences only where no small count follows from them, and a
    group's number of returns hidden (with the log-rank columns that give it back) where
    its complement, the episodes without a return, is below ``min_cell``. Small counts
    themselves are suppressed afterwards by the caller (``describe.suppress_small``).
    """
    out = dict(tables)
    times = tuple(times)
    safe = publishable_survival_table(km_table, min_cell, cuts=times)
    out["km_by_group"] = safe
    if "returned_at" in out:
        out["returned_at"] = publishable_at_times(km_table, safe, times)
    if "cumulative_incidence" in out and len(out["cumulative_incidence"]):
        out["cumulative_incidence"] = publishable_cumulative_incidence(
            out["cumulative_incidence"], data, group, min_cell)
    for name, events in (("medians", "n_events"), ("logrank", "observed")):
        t = out.get(name)
        if t is None or not {"n", events} <= set(t.columns):
            continue
        t = t.copy()
        rest = pd.to_numeric(t["n"], errors="coerce") - pd.to_numeric(t[events],
                                                                       errors="coerce")
        bad = (rest >= 0.5) & (rest < min_cell - 0.5)
        cols = [c for c in (events, "expected", "oe2_e", "oe2_v") if c in t.columns]
        t[cols] = t[cols].astype(object)
        t.loc[bad, cols] = np.nan  # empty in the CSV: "<10" would be wrong (it is larger)
        out[name] = t
    return out


# --------------------------------------------------------------------------- text and notebooks

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|~$#])")


def escape_markdown(value: object) -> str:
    """A cohort's own text made inert in Markdown: HTML special characters as entities
    (Markdown passes raw HTML through), Markdown punctuation backslash-escaped, line
    breaks as spaces (a value cannot start a heading or a list).

    >>> escape_markdown("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> escape_markdown("SWV_02 [test](javascript:x)")
    'SWV\\\\_02 \\\\[test\\\\](javascript:x)'
    """
    import html

    text = " ".join(str(value).splitlines())
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ABS_PATH = re.compile(r"(?<![\w.~/])(?:[A-Za-z]:\\|/)(?:[\w.@+-]+[/\\])+[\w.@+-]*")


def scrub_paths(text: str, paths: Iterable[str] = ()) -> str:
    """``text`` with the given local paths and any other absolute path replaced by "…".

    >>> scrub_paths("cohort_folder = '/home/ana/cohort'\\nsee /tmp/x/y.csv, 1/2", ["/home/ana"])
    "cohort_folder = '…'\\nsee …, 1/2"
    """
    text = _ANSI.sub("", text)  # a traceback's colours would hide a path from the pattern
    for p in sorted({str(p) for p in paths if p}, key=len, reverse=True):
        text = re.sub(re.escape(p) + r"[^\s'\"]*", "…", text)
    return _ABS_PATH.sub("…", text)


def scrub_log(path: str | Path, paths: Iterable[str] = ()) -> bool:
    """Remove local paths (and terminal colours) from a text file saved beside the report,
    such as ``notebooks/kernels.log``, whose warnings name the files they come from.
    Returns whether the file changed.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "kernels.log"
    >>> _ = p.write_text("/home/ana/.venv/lib/x.py:3: RuntimeWarning: overflow\\n")
    >>> scrub_log(p, ["/home/ana"]), p.read_text()
    (True, '… RuntimeWarning: overflow\\n')
    """
    path = Path(path)
    before = path.read_text(encoding="utf-8", errors="replace")
    after = scrub_paths(before, paths)
    if after != before:
        path.write_text(after, encoding="utf-8")
    return after != before


def scrub_notebook(path: str | Path, paths: Iterable[str] = ()) -> bool:
    """Remove local paths from an executed notebook saved beside the report: papermill's
    ``parameters``, ``input_path`` and ``output_path`` metadata go, and every absolute
    path (the cohort folder in the injected-parameters cell, a path in an output) becomes
    "…". Returns whether the file changed.

    >>> import nbformat, tempfile
    >>> nb = nbformat.v4.new_notebook()
    >>> nb.cells = [nbformat.v4.new_code_cell('cohort_folder = "/home/ana/cohort"')]
    >>> nb.metadata["papermill"] = {"input_path": "/home/ana/nb.ipynb", "duration": 1.0}
    >>> p = Path(tempfile.mkdtemp()) / "x.ipynb"; nbformat.write(nb, p)
    >>> scrub_notebook(p), "/home" in p.read_text()
    (True, False)
    """
    import nbformat

    path = Path(path)
    before = path.read_text(encoding="utf-8")
    nb = nbformat.reads(before, as_version=4)
    pm = nb.metadata.get("papermill", {})
    for key in ("parameters", "input_path", "output_path", "environment_variables"):
        pm.pop(key, None)

    def clean(obj):
        if isinstance(obj, str):
            return scrub_paths(obj, paths)
        if isinstance(obj, list):
            return [clean(x) for x in obj]
        if isinstance(obj, dict):
            return {k: (v if k in ("image/png", "image/jpeg") else clean(v))
                    for k, v in obj.items()}
        return obj

    for cell in nb.cells:
        cell.source = clean(cell.source)
        if cell.cell_type == "code":
            cell.outputs = nbformat.from_dict(clean(cell.get("outputs", [])))
    after = nbformat.writes(nb)
    if after != before:
        path.write_text(after, encoding="utf-8")
    return after != before

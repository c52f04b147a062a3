"""Privacy: refusing direct identifiers and keyed pseudonymisation of raw exports.

Pupil data about thuiszitters are sensitive. A cohort folder that this package analyses
holds only pseudonyms (``pupil_id``, ``school_id``), a birth *month* and no names, BSNs,
addresses or contact details. This module provides the tools for that rule:

* :func:`elfproef` / :func:`bsn_mask` -- does a value look like a Dutch citizen service
  number (BSN)? Vectorised, for columns of 100,000+ values.
* :func:`find_direct_identifiers` -- which columns of a table hold direct identifiers
  (by column name and by values), with the spreadsheet row of the first one. Messages never
  echo an identifying value.
* :func:`pseudonym` / :func:`load_or_create_key` -- keyed pseudonyms (HMAC-SHA256), stable
  across years as long as the same key file is used, so cohorts can be linked.
* :func:`pseudonymise_folder` -- what ``thuiszit-eval pseudonymise RAW OUT --key-file K``
  runs: every CSV of a raw export is rewritten with pseudonymised ids, identifying columns
  dropped and birth dates reduced to ``birth_month``.

No function here logs or puts a raw identifier value in a message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
import os
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "KEY_BYTES",
    "PSEUDONYMISE_HINT",
    "PrivacyError",
    "bsn_mask",
    "elfproef",
    "find_direct_identifiers",
    "load_or_create_key",
    "mask_identifiers",
    "mask_text",
    "normalise_id",
    "pseudonym",
    "pseudonymise_folder",
    "FilePseudonymisation",
    "PseudonymisationReport",
]

logger = logging.getLogger(__name__)


class PrivacyError(ValueError):
    """Bad input for pseudonymisation; the message says what to do and has no raw ids."""


# ---------------------------------------------------------------------------------------
# BSN: the 11-proef
# ---------------------------------------------------------------------------------------

#: Weights of the 11-proef for the nine BSN digits d1..d9.
_ELFPROEF_WEIGHTS = np.array([9, 8, 7, 6, 5, 4, 3, 2, -1], dtype=np.int64)
_POWERS_OF_TEN = 10 ** np.arange(8, -1, -1, dtype=np.int64)
_BSN_MIN, _BSN_MAX = 10_000_000, 999_999_999  # 8 or 9 digits

# A BSN as text: 8-9 digits, optionally with a float tail (``123456782.0``), or written in
# groups (``1234.56.782``, ``123 456 782``). Dates (``15.01.2023``) never match the groups.
_BSN_TEXT_RE = re.compile(
    r"^\s*(?:(?P<plain>\d{8,9})(?:\.0*)?"
    r"|(?P<g1>\d{2,4})[ .](?P<g2>\d{2,3})[ .](?P<g3>\d{3}))\s*$"
)


def _digits_text(text: str) -> str | None:
    """Digits of a BSN-like text, or None (scalar twin of :func:`_bsn_digit_strings`)."""
    match = _BSN_TEXT_RE.match(text)
    if match is None:
        return None
    digits = match["plain"] or (match["g1"] + match["g2"] + match["g3"])
    return digits if len(digits) in (8, 9) else None


def elfproef(value: object) -> bool:
    """Return True when ``value`` is a plausible Dutch BSN (passes the 11-proef).

    A BSN has 9 digits d1..d9 with ``9*d1 + 8*d2 + ... + 2*d8 - 1*d9`` divisible by 11 and
    not all zero. Eight digits are accepted and left-padded with a zero, because Excel drops
    the leading zero of ``012345678``. Accepts strings (also grouped as ``1234.56.782``),
    integers and integral floats such as ``123456782.0``; missing values, booleans and
    anything else give False.

    Example:
        >>> elfproef("111222333"), elfproef(111222333), elfproef(111222333.0)
        (True, True, True)
        >>> elfproef("123456789"), elfproef(None), elfproef("000000000")
        (False, False, False)
    """
    if value is None or isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, int | np.integer):
        number = int(value)
    elif isinstance(value, float | np.floating):
        if not np.isfinite(value) or value != int(value):
            return False
        number = int(value)
    elif isinstance(value, str):
        digits = _digits_text(value)
        if digits is None:
            return False
        number = int(digits)
    else:
        return False
    if not _BSN_MIN <= number <= _BSN_MAX:
        return False
    padded = f"{number:09d}"
    total = sum(w * int(d) for w, d in zip(_ELFPROEF_WEIGHTS.tolist(), padded, strict=True))
    return total % 11 == 0


def _bsn_digits(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Digits of every BSN-shaped value (8 or 9 digits, 11-proef not yet checked).

    Returns ``(shaped, matrix)``: a boolean array over ``series`` and an ``int64`` array of
    shape ``(shaped.sum(), 9)`` holding the zero-padded digits of those values.
    """
    n = len(series)
    shaped = np.zeros(n, dtype=bool)
    empty = np.zeros((0, 9), dtype=np.int64)
    dtype = series.dtype
    if n == 0 or pd.api.types.is_bool_dtype(dtype):
        return shaped, empty
    if pd.api.types.is_numeric_dtype(dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            shaped = (
                np.isfinite(values)
                & (values >= _BSN_MIN)
                & (values <= _BSN_MAX)
                & (values == np.floor(values))
            )
        numbers = values[shaped].astype(np.int64)
        return shaped, (numbers[:, None] // _POWERS_OF_TEN) % 10
    if not (
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    ):
        return shaped, empty  # datetimes, periods, ...: never a BSN
    # pyarrow strings: the regexes below run in Arrow's compute kernels, not per value.
    # Positional index, so that duplicate or unsorted labels do not matter.
    text = series.reset_index(drop=True).astype("string[pyarrow]").str.strip()
    plain = text.str.fullmatch(r"\d{8,9}(?:\.0*)?").fillna(False)
    grouped = text.str.fullmatch(r"\d{2,4}[ .]\d{2,3}[ .]\d{3}").fillna(False)
    digits = pd.concat(
        [
            text[plain].str.replace(r"\..*$", "", regex=True),
            text[grouped].str.replace(r"[ .]", "", regex=True),
        ]
    )
    digits = digits[digits.str.len().isin([8, 9])].sort_index()
    if digits.empty:
        return shaped, empty
    shaped[digits.index.to_numpy()] = True
    joined = "".join(digits.str.zfill(9).tolist()).encode("ascii")
    matrix = np.frombuffer(joined, dtype=np.uint8).reshape(-1, 9).astype(np.int64) - ord("0")
    return shaped, matrix


def _elfproef_matrix(matrix: np.ndarray) -> np.ndarray:
    """11-proef per row of a ``(n, 9)`` digit matrix."""
    # At least 10,000,000, as in elfproef(): '000000012' passes the sum but is no BSN.
    return ((matrix @ _ELFPROEF_WEIGHTS) % 11 == 0) & (matrix @ _POWERS_OF_TEN >= _BSN_MIN)


def bsn_mask(series: pd.Series) -> pd.Series:
    """Vectorised :func:`elfproef`: a boolean Series, True where the value may be a BSN.

    Same rules as :func:`elfproef` (8 or 9 digits, leading zero restored, 11-proef, not all
    zeros); missing values give False. Works on integer, float, string, object and
    categorical columns; the digit check runs in numpy, so 100,000 values take milliseconds.

    Example:
        >>> bsn_mask(pd.Series(["111222333", "123456789", None, 11122233.0])).tolist()
        [True, False, False, False]
        >>> bsn_mask(pd.Series([111222333, 12345678])).tolist()
        [True, False]
    """
    shaped, matrix = _bsn_digits(series)
    result = np.zeros(len(series), dtype=bool)
    result[shaped] = _elfproef_matrix(matrix)
    return pd.Series(result, index=series.index, dtype=bool)


def _mask_bsn_digits(digits: np.ndarray) -> str:
    """Show a BSN without revealing it: digits of ``123456782`` -> ``12****782``."""
    text = "".join(str(int(d)) for d in digits)
    return f"{text[:2]}****{text[-3:]}"


#: A BSN-shaped token inside longer text (a message, a malformed row, a column name).
_BSN_TOKEN_RE = re.compile(r"(?<![0-9])(?:[0-9]{8,9}(?:\.0+)?|[0-9]{2,4}[ .][0-9]{2,3}[ .][0-9]{3})"
                           r"(?![0-9])")


def mask_text(text: str) -> str:
    """``text`` with every number in it that passes the 11-proef masked (``12****782``).

    Used on every message, report value and CSV cell that could echo a pupil's data:
    identifiers are never echoed, whatever column or table they turn up in.

    Example:
        >>> mask_text("attendance.csv row 2, column pupil_id (value '111222333')")
        "attendance.csv row 2, column pupil_id (value '11****333')"
        >>> mask_text("123456789 is not a BSN")
        '123456789 is not a BSN'
    """
    if not isinstance(text, str) or not _BSN_TOKEN_RE.search(text):
        return text

    def repl(match: re.Match[str]) -> str:
        token = match.group()
        if not elfproef(token):
            return token
        digits = _digits_text(token) or token
        return _mask_bsn_digits(np.array([int(d) for d in digits.zfill(9)]))

    return _BSN_TOKEN_RE.sub(repl, text)


def mask_identifiers(series: pd.Series) -> pd.Series:
    """Vectorised :func:`mask_text` over a text column: each distinct value is checked once,
    and only values holding 8 or more digits at all.

    Example:
        >>> mask_identifiers(pd.Series(["111222333", "x", "111222333"])).tolist()
        ['11****333', 'x', '11****333']
    """
    if series.empty:
        return series
    text = series.astype(object).where(series.notna(), "").astype(str)
    uniq = pd.unique(text.to_numpy())
    digits = pd.Series(uniq, dtype="string[pyarrow]").str.count(r"[0-9]").to_numpy() >= 8
    if not digits.any():
        return series
    lookup = {u: mask_text(u) for u in uniq[digits]}
    changed = {k: v for k, v in lookup.items() if k != v}
    if not changed:
        return series
    return text.map(lambda v: changed.get(v, v)).where(series.notna(), series)


# ---------------------------------------------------------------------------------------
# Direct identifiers
# ---------------------------------------------------------------------------------------

PSEUDONYMISE_HINT = (
    "Run `thuiszit-eval pseudonymise RAW OUT --key-file K` on the raw export: it drops BSN, "
    "name and contact columns, replaces pupil and school ids by keyed pseudonyms and reduces "
    "birth dates to birth_month. Analyse OUT, never the raw export."
)

_PERSON = (
    r"leerling|kind|ouders?|moeder|vader|verzorgers?|voogd|contactpersoon|contact|"
    r"pupil|student|child|parents?|mother|father|guardian|carer"
)
_NAME_CORE = (
    r"naam|namen|voornaam|voornamen|achternaam|roepnaam|tussenvoegsels?|voorletters|"
    r"geslachtsnaam|volledige_?naam|name|names|first_?name|last_?name|given_?names?|"
    r"family_?name|full_?name|middle_?name|surname|initials"
)
_NAME_RE = re.compile(rf"^(?:(?:{_PERSON})_?)?(?:{_NAME_CORE})(?:_?(?:{_PERSON}))?_?\d?$")
_BSN_NAME_RE = re.compile(
    r"^bsn|bsn(?:_?\d)?$|_bsn_|burgerservicenummer|sofi_?nummer|^sofi$|citizen_service"
)
_CONTACT_RE = re.compile(
    r"^(?:(?:" + _PERSON + r")_?)?"
    r"(?:adres|adressen|address|woonadres|straat|straatnaam|street|huisnummer|huisnr|"
    r"house_?number|toevoeging|e_?mail|e_?mailadres|email_?address|mail|telefoon|"
    r"telefoonnummer|telnr|tel|phone|phone_?number|mobiel|mobile|gsm)"
    r"(?:_?(?:" + _PERSON + r"))?_?\d?$"
)
_POSTCODE_NAME_RE = re.compile(r"postcode|post_code|postal_?code|zip_?code|^zip$")
_PC4_NAME_RE = re.compile(r"pc4|postcode_?4|4_?pos|postcode_?cijfers")
_BIRTH_NAME_RE = re.compile(
    r"geboorte_?datum|geb_?datum|^geboren|date_of_birth|birth_?date|birthdate|birthday|^dob$"
)

_FULL_POSTCODE = r"\d{4}\s?[A-Za-z]{2}"
_EMAIL = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"
#: Birth dates at month precision or coarser are fine (that is what birth_month is).
_MONTH_PRECISION = r"\d{4}|\d{4}[-/]\d{1,2}|\d{1,2}[-/]\d{4}"


def _normalise_column_name(name: object) -> str:
    """``'E-mail adres'`` -> ``'e_mail_adres'``: lower case, separators as ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def _column_name_kind(name: object) -> str | None:
    """Kind of direct identifier that a column name suggests, or None.

    Returns one of ``'bsn'``, ``'name'``, ``'contact'``, ``'postcode'`` (full postcode or
    unknown precision; PC4 names give None) or ``'birth_date'``.
    """
    norm = _normalise_column_name(name)
    if _BSN_NAME_RE.search(norm):
        return "bsn"
    if _BIRTH_NAME_RE.search(norm):
        return "birth_date"
    if _POSTCODE_NAME_RE.search(norm):
        return None if _PC4_NAME_RE.search(norm) else "postcode"
    if _CONTACT_RE.match(norm):
        return "contact"
    if _NAME_RE.match(norm):
        return "name"
    return None


def _as_text(series: pd.Series) -> pd.Series:
    """Non-missing values as stripped pyarrow strings (missing and empty removed)."""
    text = series.dropna()
    if pd.api.types.is_datetime64_any_dtype(text.dtype):
        text = text.dt.strftime("%Y-%m-%d")
    text = text.astype("string[pyarrow]").str.strip()
    return text[text != ""]


def _first_row(positions: np.ndarray) -> int | None:
    """Spreadsheet row number (header = 1) of the first position, or None."""
    return int(positions[0]) + 2 if len(positions) else None


def _finding(column: object, kind: str, positions: np.ndarray, message: str) -> dict[str, object]:
    return {
        "column": str(column),
        "kind": kind,
        "first_row": _first_row(positions),
        "n_values": len(positions),
        "message": message,
        "hint": PSEUDONYMISE_HINT,
    }


def _looks_like_yyyymmdd(digits: np.ndarray) -> np.ndarray:
    """Rows of a ``(n, 9)`` digit matrix that read as a date ``0YYYYMMDD`` (1900-2100)."""
    number = digits @ _POWERS_OF_TEN
    year, month, day = number // 10_000, number // 100 % 100, number % 100
    return (
        (digits[:, 0] == 0)
        & (year >= 1900)
        & (year <= 2100)
        & (month >= 1)
        & (month <= 12)
        & (day >= 1)
        & (day <= 31)
    )


def _bsn_finding(column: object, series: pd.Series) -> dict[str, object] | None:
    """A BSN finding when most values are 8-9 digit numbers and some pass the 11-proef."""
    n_present = len(_as_text(series))  # empty cells of a CSV are no values
    if n_present == 0:
        return None
    shaped, matrix = _bsn_digits(series)
    n_shaped = int(shaped.sum())
    if n_shaped == 0 or n_shaped < 0.5 * n_present:
        return None
    if _looks_like_yyyymmdd(matrix).all():
        return None  # dates written as YYYYMMDD, not BSNs
    passes = _elfproef_matrix(matrix)
    if not passes.any():
        return None
    positions = np.flatnonzero(shaped)[passes]
    share = passes.mean()
    first = _mask_bsn_digits(matrix[np.argmax(passes)])
    message = (
        f"column {column!r}: {len(positions)} of {n_shaped} 8-9 digit values pass the "
        f"11-proef for a BSN (first in row {_first_row(positions)}: {first})."
    )
    if share < 0.5:
        message += (
            f" Only {share:.0%} pass, close to the 1 in 11 expected by chance: if this is "
            "not a BSN but another number, pass the column in `allowed`."
        )
    return _finding(column, "bsn", positions, message)


def _pattern_positions(series: pd.Series, pattern: str) -> tuple[np.ndarray, int]:
    """Positions of values fully matching ``pattern`` and the number of non-missing values."""
    text = _as_text(series.reset_index(drop=True))
    hits = text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
    return text.index.to_numpy()[hits], len(text)


def _column_findings(column: object, series: pd.Series) -> list[dict[str, object]]:
    """All findings for one column (at most one per kind)."""
    kind = _column_name_kind(column)
    findings: list[dict[str, object]] = []
    present = np.flatnonzero(
        (series.notna() & (series.astype("string").str.strip() != "")).to_numpy(dtype=bool)
    )
    bsn = _bsn_finding(column, series)
    if bsn is not None:
        findings.append(bsn)
    elif kind == "bsn" and len(present):
        findings.append(
            _finding(
                column,
                "bsn",
                present,
                f"column {column!r}: the name says BSN / citizen service number "
                f"({len(present)} values).",
            )
        )
    if kind in ("name", "contact") and len(present):
        what = "names of people" if kind == "name" else "addresses or contact details"
        findings.append(
            _finding(
                column,
                kind,
                present,
                f"column {column!r}: the name says it holds {what} ({len(present)} values).",
            )
        )
    elif kind is None or kind == "postcode":
        emails, _ = _pattern_positions(series, _EMAIL)
        if len(emails):
            findings.append(
                _finding(
                    column,
                    "contact",
                    emails,
                    f"column {column!r}: {len(emails)} values look like e-mail addresses.",
                )
            )
    postcodes, n_text = _pattern_positions(series, _FULL_POSTCODE)
    if len(postcodes) and (kind == "postcode" or len(postcodes) >= 0.5 * n_text):
        findings.append(
            _finding(
                column,
                "postcode",
                postcodes,
                f"column {column!r}: {len(postcodes)} full postcodes (1234AB); "
                "only the 4 digits (PC4) may stay.",
            )
        )
    if kind == "birth_date":
        text = _as_text(series.reset_index(drop=True))
        coarse = text.str.fullmatch(_MONTH_PRECISION).fillna(False).to_numpy(dtype=bool)
        fine = text.index.to_numpy()[~coarse]
        if len(fine):
            findings.append(
                _finding(
                    column,
                    "birth_date",
                    fine,
                    f"column {column!r}: {len(fine)} birth dates more precise than a month; "
                    "only birth_month (YYYY-MM) may stay.",
                )
            )
    return findings


def find_direct_identifiers(
    df: pd.DataFrame, allowed: Collection[str] = frozenset()
) -> list[dict[str, object]]:
    """Find columns of ``df`` that hold direct identifiers of pupils or parents.

    A column is reported when

    * its **name** says it holds names (naam, voornaam, achternaam, roepnaam,
      tussenvoegsel, name, first_name, surname, ...) or contact details (adres, straat,
      email, telefoon, phone, ...) and it is not empty;
    * its **values** are mostly 8-9 digit numbers and any of them passes the 11-proef
      (``kind='bsn'``), or its name says BSN / burgerservicenummer / sofinummer;
    * it holds e-mail addresses, or full postcodes (``1234AB``; a PC4 column is fine);
    * its name says birth date (geboortedatum, birth_date, date_of_birth, ...) and values
      are more precise than a month (``birth_month`` ``YYYY-MM`` is fine).

    Pseudonym columns (16-character base32/hex), counts, codes and ordinary dates are not
    reported. Columns in ``allowed`` are skipped (use it for a numeric id that happens to
    look like a BSN after checking).

    Returns one dict per finding, in column order, with keys ``column``, ``kind``
    (``'bsn'``, ``'name'``, ``'contact'``, ``'postcode'`` or ``'birth_date'``),
    ``first_row`` (spreadsheet numbering: header row 1, first data row 2), ``n_values``,
    ``message`` and ``hint``. Messages never contain an identifying value; a BSN is shown
    masked as ``12****782``.

    Example:
        >>> df = pd.DataFrame({"pupil_id": ["P6PK3SRQ2KBN3LGMA"], "naam": ["Testkind Eén"],
        ...                    "nummer": ["111222333"], "dayparts": [4]})
        >>> [(f["column"], f["kind"], f["first_row"]) for f in find_direct_identifiers(df)]
        [('naam', 'name', 2), ('nummer', 'bsn', 2)]
        >>> find_direct_identifiers(df)[1]["message"]
        "column 'nummer': 1 of 1 8-9 digit values pass the 11-proef for a BSN (first in row 2: 11****333)."
    """  # noqa: E501
    allowed_set = {str(a) for a in allowed}
    findings: list[dict[str, object]] = []
    for column in df.columns:
        if str(column) in allowed_set:
            continue
        series = df[column]
        if isinstance(series, pd.DataFrame):  # duplicate column names
            for i in range(series.shape[1]):
                findings.extend(_column_findings(column, series.iloc[:, i]))
            continue
        findings.extend(_column_findings(column, series))
    return findings


# ---------------------------------------------------------------------------------------
# Keyed pseudonyms
# ---------------------------------------------------------------------------------------

#: Minimum key length in bytes (HMAC-SHA256 key of 256 bits).
KEY_BYTES = 32
#: Characters of the base32 HMAC digest kept per pseudonym (16 x 5 bits = 80 bits).
PSEUDONYM_CHARS = 16
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{4,64}$")


def normalise_id(value: object) -> str:
    """The form of a raw id that is hashed, so that formatting differences still link.

    Surrounding and inner whitespace removed, upper case, a float tail ``.0`` removed and
    leading zeros of an all-digit id removed (Excel turns ``00123`` into ``123`` and ``123``
    into ``123.0``). Changing this function changes every pseudonym: it is part of the
    pseudonym definition and must stay fixed.

    Example:
        >>> normalise_id(" 00123 "), normalise_id(123.0), normalise_id("12ab")
        ('123', '123', '12AB')
    """
    if isinstance(value, float | np.floating) and np.isfinite(value) and value == int(value):
        value = int(value)
    text = re.sub(r"\s+", "", str(value)).upper()
    if re.fullmatch(r"\d+\.0*", text):
        text = text.split(".", 1)[0]
    if text.isdigit():
        text = text.lstrip("0") or "0"
    return text


def _pseudonym_of(normalised: str, key: bytes, prefix: str) -> str:
    digest = hmac.new(key, normalised.encode("utf-8"), hashlib.sha256).digest()
    return prefix + base64.b32encode(digest).decode("ascii")[:PSEUDONYM_CHARS]


def pseudonym(values: pd.Series, key: bytes, prefix: str) -> pd.Series:
    """Keyed pseudonyms: ``prefix`` + 16 base32 characters of HMAC-SHA256(key, id).

    The id is first normalised with :func:`normalise_id`. The same key gives the same
    pseudonym for the same id in every file and every year, so cohorts made with one key
    file link; without the key the id cannot be recovered or tested. Missing and empty
    values stay missing (``<NA>``). The result matches the cohort id pattern
    ``^[A-Za-z0-9_-]{4,64}$``.

    Example:
        >>> key = bytes(range(32))
        >>> pseudonym(pd.Series(["123", "00123", None]), key, "P").tolist()
        ['P47CVHCSLCVTE5VTH', 'P47CVHCSLCVTE5VTH', <NA>]
    """
    if len(key) < KEY_BYTES:
        raise PrivacyError(f"The pseudonymisation key has {len(key)} bytes; {KEY_BYTES} needed.")
    if not re.fullmatch(r"[A-Za-z0-9_-]{0,48}", prefix):
        raise PrivacyError(f"Pseudonym prefix {prefix!r} must be 0-48 letters, digits, _ or -.")
    present = values.notna() & (values.astype("string").str.strip() != "").fillna(False)
    uniques = pd.unique(values[present].map(normalise_id).to_numpy())
    lookup = {u: _pseudonym_of(u, key, prefix) for u in uniques}
    if len(set(lookup.values())) != len(lookup):  # 80 bits: practically impossible
        raise PrivacyError("Two different ids got the same pseudonym; report this as a bug.")
    out = pd.Series(pd.NA, index=values.index, dtype="string")
    out[present] = values[present].map(normalise_id).map(lookup).astype("string")
    return out


def load_or_create_key(path: str | os.PathLike[str]) -> bytes:
    """Read the pseudonymisation key from ``path``, creating a new random key if absent.

    The key file holds the key as hex (64 hex characters = 32 bytes). A new key is made
    with :mod:`secrets` and written with file mode ``0o600`` (owner only). Keep the file
    outside the cohort folder and reuse it next year: the same key links cohorts, a lost key
    cannot be recovered. A key shorter than 32 bytes or not in hex is refused.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> key = load_or_create_key(folder / "thuiszit.key")
        >>> len(key), load_or_create_key(folder / "thuiszit.key") == key
        (32, True)
    """
    path = Path(path)
    if path.exists():
        if path.is_dir():
            raise PrivacyError(f"Key file {path} is a folder; give the path of a file.")
        text = path.read_text(encoding="ascii", errors="replace").strip()
        try:
            key = bytes.fromhex(text)
        except ValueError:
            raise PrivacyError(
                f"Key file {path} is not a hex key. Use the key file made by "
                "`thuiszit-eval pseudonymise` (64 hex characters)."
            ) from None
        if len(key) < KEY_BYTES:
            raise PrivacyError(
                f"Key file {path} holds a key of {len(key)} bytes; at least {KEY_BYTES} bytes "
                f"({2 * KEY_BYTES} hex characters) are needed. Use the key you used before, or "
                "give a new path to create a new key (pseudonyms will then not link)."
            )
        if os.name == "posix" and path.stat().st_mode & 0o077:
            logger.warning("Key file %s can be read by others; run: chmod 600 %s", path, path)
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
    os.chmod(path, 0o600)
    logger.info("Created a new pseudonymisation key in %s; keep it safe and reuse it.", path)
    return key


# ---------------------------------------------------------------------------------------
# Pseudonymising a raw export folder
# ---------------------------------------------------------------------------------------

#: Raw column names (normalised) holding pupil ids -> pseudonyms with prefix ``P``.
PUPIL_ID_COLUMNS = frozenset(
    {
        "pupil_id", "leerling_id", "leerlingid", "leerlingnummer", "leerling_nummer",
        "leerlingnr", "leerling_nr", "llnr", "student_id",
    }
)
#: Raw column names (normalised) holding school ids -> pseudonyms with prefix ``S``.
SCHOOL_ID_COLUMNS = frozenset({"school_id", "brin", "brin_code", "brincode", "school"})
_DROP_KINDS = frozenset({"bsn", "name", "contact"})
_KIND_WORDS = {"bsn": "BSNs (11-proef)", "name": "names of people",
               "contact": "e-mail addresses or contact details"}


@dataclass
class FilePseudonymisation:
    """What :func:`pseudonymise_folder` did to one CSV file (column names only, no values)."""

    file: str
    rows: int
    encoding: str
    delimiter: str
    #: raw column -> output column, replaced by keyed pseudonyms
    pseudonymised: dict[str, str] = field(default_factory=dict)
    #: dropped column -> kind of identifier (``bsn``, ``name``, ``contact``)
    dropped: dict[str, str] = field(default_factory=dict)
    #: raw column -> output column with reduced precision (``birth_month``, ``pc4``)
    reduced: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: columns copied as they are because the user said so (``--keep``)
    kept: list[str] = field(default_factory=list)
    #: unrecognised column -> what its values look like; the export is refused
    refused: dict[str, str] = field(default_factory=dict)


@dataclass
class PseudonymisationReport:
    """Result of :func:`pseudonymise_folder`; ``summary()`` gives a readable account."""

    raw: Path
    out: Path
    key_file: Path
    key_created: bool
    files: list[FilePseudonymisation] = field(default_factory=list)
    #: files in RAW that were not read (only CSV is); they were not copied to OUT
    skipped: list[str] = field(default_factory=list)
    datapackage_copied: bool = False

    def summary(self) -> str:
        """A plain-text account: per file rows and columns pseudonymised, dropped, reduced."""
        lines = [f"Pseudonymised {len(self.files)} file(s) from {self.raw} into {self.out}."]
        if self.key_created:
            lines.append(
                f"A NEW key was created in {self.key_file}. Keep it safe, outside OUT, and "
                "use it again next time: the same key gives the same pseudonyms."
            )
        else:
            lines.append(f"Key: {self.key_file} (existing key; pseudonyms link to earlier runs).")
        for report in self.files:
            lines.append(
                f"- {report.file}: {report.rows} rows "
                f"(read as {report.encoding}, delimiter {report.delimiter!r})"
            )
            for label, mapping in (
                ("pseudonymised", report.pseudonymised),
                ("reduced", report.reduced),
            ):
                if mapping:
                    items = ", ".join(k if k == v else f"{k} -> {v}" for k, v in mapping.items())
                    lines.append(f"    {label}: {items}")
            if report.kept:
                lines.append(f"    kept as asked (--keep): {', '.join(report.kept)}")
            if report.dropped:
                items = ", ".join(f"{k} ({v})" for k, v in report.dropped.items())
                lines.append(f"    dropped: {items}")
            lines.extend(f"    warning: {w}" for w in report.warnings)
        if self.datapackage_copied:
            lines.append("datapackage.json copied with thuiszit.pseudonymised = true.")
        if self.skipped:
            lines.append(
                "Not read and not copied (only CSV files are pseudonymised; export them as "
                "CSV): " + ", ".join(self.skipped)
            )
        return "\n".join(lines)


def _read_raw_csv(path: Path) -> tuple[pd.DataFrame, str, str]:
    """Read a raw export CSV as strings; detect encoding and ``;``/``,``/tab delimiter."""
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    lines = text.splitlines()
    skip = 0
    if lines and re.fullmatch(r"sep=.", lines[0].strip()):  # Excel's "sep=;" hint line
        delimiter, skip = lines[0].strip()[4], 1
    else:
        header = lines[0] if lines else ""
        delimiter = max((";", ",", "\t", "|"), key=header.count)
        delimiter = delimiter if header.count(delimiter) else ","
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skiprows=skip,
            skip_blank_lines=True,
        )
    except pd.errors.EmptyDataError:
        raise PrivacyError(f"{path.name}: the file is empty (no header row).") from None
    except pd.errors.ParserError as error:
        raise PrivacyError(
            f"{path.name}: cannot be read as a CSV with delimiter {delimiter!r} ({error}). "
            "Check that every row has as many fields as the header."
        ) from None
    return df, encoding, delimiter


def _year_month(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Reduce date strings to ``YYYY-MM``; returns the result and positions not understood.

    Understood: ``YYYY-MM-DD`` (also ``/``, ``.``, with a time), ``DD-MM-YYYY`` (Dutch,
    day first; also ``/``, ``.``), ``YYYYMMDD`` and an existing ``YYYY-MM``.
    """
    text = series.reset_index(drop=True).astype("string").str.strip()
    year = pd.Series(pd.NA, index=text.index, dtype="string")
    month = year.copy()
    patterns = [
        (r"^(\d{4})[-/.](\d{1,2})[-/.]\d{1,2}(?:[ T].*)?$", 0, 1),
        (r"^\d{1,2}[-/.](\d{1,2})[-/.](\d{4})(?:\s.*)?$", 1, 0),
        (r"^(\d{4})(\d{2})\d{2}$", 0, 1),
        (r"^(\d{4})[-/](\d{1,2})$", 0, 1),
    ]
    for pattern, year_group, month_group in patterns:
        parts = text.str.extract(pattern)
        todo = year.isna()
        year = year.where(~todo, parts[year_group])
        month = month.where(~todo, parts[month_group])
    y = pd.to_numeric(year, errors="coerce")
    m = pd.to_numeric(month, errors="coerce")
    ok = (y.between(1900, 2100) & m.between(1, 12)).fillna(False).astype(bool)
    result = (year + "-" + month.str.zfill(2)).where(ok, "")
    bad = np.flatnonzero((~ok & text.fillna("").ne("")).to_numpy(dtype=bool))
    return result.fillna("").set_axis(series.index), bad


def _unique_name(wanted: str, original: str, taken: set[str]) -> str:
    return wanted if wanted == original or wanted not in taken else original


#: Column names that say "an id or number of something": refused when not recognised.
_ID_NAME_RE = re.compile(
    r"^(?:(?:" + _PERSON + r"|dossier|zaak|case|client|clint|cli_nt|deelnemer|inschrijving|"
    r"onderwijs|persoon|person|gezin|family|huishouden)_?)?"
    r"(?:id|nr|nummer|number|no|num|code|kenmerk|ref|referentie|reference)(?:_?\d)?$"
)
#: A value that reads as an id: at least three digits in a row, no spaces or decimal point,
#: and not a date or a month.
_ID_VALUE = r"(?=.*\d{3})[A-Za-z0-9_-]{3,}"
_DATE_LIKE = r"\d{1,4}[-/]\d{1,2}(?:[-/]\d{1,4})?"
_PERSON_NAME = (
    r"[A-ZÀ-Þ][a-zß-ÿ'’]+(?:[ -](?:(?:van|de|der|den|het|ter|ten|te|in|op|'t|la|le|du|da|"
    r"el|al) )*[A-ZÀ-Þ][a-zß-ÿ'’]+)+"
)
_PHONE = r"(?:\+31|0031|0)[ -]?\(?\d(?:[ -]?\)?[ -]?\d){8}"


def _known_columns(extra: Collection[str] = ()) -> set[str]:
    """Normalised names of every column of the cohort format plus declared extra fields."""
    from .schema import TABLES, table_schema

    names = {f.name for t in TABLES for f in table_schema(t).fields}
    return {_normalise_column_name(n) for n in names | set(extra)}


def _looks_identifying(name: str, values: pd.Series) -> str | None:
    """What an unrecognised column looks like, or None: an id (by name or values), names of
    people, e-mail addresses, phone numbers or postcodes. Checked on the values of the
    column, so a misleading name does not hide them."""
    text = values.astype("string").str.strip()
    text = text[text.notna() & (text != "")]
    n = len(text)
    if n == 0:
        return None
    for what, pattern, share in (
        ("e-mail addresses", _EMAIL, 0.0),
        ("phone numbers", _PHONE, 0.0),
        ("postcodes", _FULL_POSTCODE, 0.0),
        ("names of people", _PERSON_NAME, 0.5),
    ):
        hits = int(text.str.fullmatch(pattern).fillna(False).sum())
        if hits and hits > share * n:
            return what
    if _ID_NAME_RE.match(_normalise_column_name(name)):
        return "identifiers (the column name says id or number)"
    ids = text.str.fullmatch(_ID_VALUE).fillna(False) & ~text.str.fullmatch(_DATE_LIKE).fillna(
        False
    )
    if n >= 5 and ids.mean() >= 0.8 and text[ids].nunique() >= 0.9 * int(ids.sum()):
        return "identifiers (nearly every value is a different number or code)"
    return None


def _pseudonymise_table(
    df: pd.DataFrame,
    key: bytes,
    report: FilePseudonymisation,
    mapping: dict[str, str] | None = None,
    known: set[str] | None = None,
) -> pd.DataFrame:
    """Pseudonymise, drop and reduce the columns of one raw table (strings only).

    ``mapping`` (normalised column name -> ``keep``/``drop``/``pseudonymise``) is what the
    user said about columns; an unrecognised column that looks identifying and is not in it
    lands in ``report.refused`` (the caller refuses the whole export).
    """
    mapping = mapping or {}
    known = _known_columns() if known is None else known
    out = pd.DataFrame(index=df.index)
    taken = {str(c) for c in df.columns}
    for column in df.columns:
        name = str(column)
        norm = _normalise_column_name(name)
        values = df[column]
        asked = mapping.get(norm)
        if asked == "drop":
            report.dropped[name] = "asked"
            continue
        if asked == "keep":
            out[name] = values
            report.kept.append(name)
            continue
        if asked == "pseudonymise":
            out[name] = pseudonym(values, key, "X").fillna("")
            report.pseudonymised[name] = name
            continue
        if norm in PUPIL_ID_COLUMNS or norm in SCHOOL_ID_COLUMNS:
            prefix, canonical = (
                ("P", "pupil_id") if norm in PUPIL_ID_COLUMNS else ("S", "school_id")
            )
            target = _unique_name(canonical, name, taken)
            out[target] = pseudonym(values, key, prefix).fillna("")
            report.pseudonymised[name] = target
            taken.add(target)
            continue
        kind = _column_name_kind(name)
        found = {f["kind"] for f in _column_findings(name, values)}
        if kind == "birth_date":
            month, bad = _year_month(values)
            if len(bad):
                rows = ", ".join(str(p + 2) for p in bad[:5])
                raise PrivacyError(
                    f"{report.file}, column {name!r}: {len(bad)} value(s) are not a date "
                    f"(row{'s' if len(bad) > 1 else ''} {rows}{', ...' if len(bad) > 5 else ''}); "
                    "expected DD-MM-YYYY "
                    "or YYYY-MM-DD. Fix them in the raw export and run again."
                )
            target = _unique_name("birth_month", name, taken)
            out[target] = month
            report.reduced[name] = target
            taken.add(target)
        elif kind in _DROP_KINDS:
            report.dropped[name] = kind
        elif found & _DROP_KINDS and norm not in known:
            # The values, not the name, say BSN or e-mail: dropping the column could lose a
            # column of notes, keeping it would leak; the user decides.
            kinds = sorted(found & _DROP_KINDS)
            report.refused[name] = " and ".join(_KIND_WORDS[k] for k in kinds)
        elif kind == "postcode" or "postcode" in found:
            digits = values.astype("string").str.strip().str.extract(r"^(\d{4})")[0]
            target = _unique_name("pc4", name, taken)
            out[target] = digits.fillna("")
            report.reduced[name] = target
            taken.add(target)
        else:
            looks = None if norm in known else _looks_identifying(name, values)
            if looks:
                report.refused[name] = looks
                continue
            out[name] = values
    allowed = set(report.pseudonymised.values()) | set(report.kept)
    for finding in find_direct_identifiers(out, allowed=allowed):
        report.warnings.append(str(finding["message"]))
    return out


def _declared_extra_fields(path: Path) -> list[str]:
    """Names of the extra fields a raw export's datapackage.json declares (none if absent or
    unreadable: then the datapackage is refused when copied)."""
    try:
        package = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return []
    if not isinstance(package, dict) or not isinstance(package.get("resources"), list):
        return []
    return [
        str(d["name"])
        for r in package["resources"] if isinstance(r, dict)
        for d in (r.get("extra_fields") or []) if isinstance(d, dict) and "name" in d
    ]


def _copy_datapackage(source: Path, target: Path, written: set[str]) -> None:
    """Copy datapackage.json with ``thuiszit.pseudonymised = true`` and UTF-8 comma CSVs."""
    try:
        package = json.loads(source.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PrivacyError(f"{source.name} is not valid JSON ({error}).") from None
    if not isinstance(package, dict):
        raise PrivacyError(f"{source.name} must hold a JSON object.")
    section = package.get("thuiszit")
    if not isinstance(section, dict):
        section = package["thuiszit"] = {}
    section["pseudonymised"] = True
    for resource in package.get("resources", []) or []:
        if isinstance(resource, dict) and Path(str(resource.get("path", ""))).name in written:
            resource["encoding"] = "utf-8"
            if isinstance(resource.get("dialect"), dict):
                resource["dialect"]["delimiter"] = ","
    target.write_text(json.dumps(package, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def pseudonymise_folder(
    raw: str | os.PathLike[str],
    out: str | os.PathLike[str],
    key_file: str | os.PathLike[str],
    keep: Collection[str] = (),
    drop: Collection[str] = (),
    pseudonymise: Collection[str] = (),
) -> PseudonymisationReport:
    """Write a pseudonymised copy of the raw export folder ``raw`` to ``out``.

    This is ``thuiszit-eval pseudonymise RAW OUT --key-file K``. Every ``*.csv`` in ``raw``
    (``;`` or ``,`` delimited, UTF-8 or cp1252 as Dutch Excel writes it) is written to
    ``out`` under the same name as UTF-8, comma-delimited CSV, with the same rows, and:

    * pupil ids (``pupil_id``, ``leerling_id``, ``leerlingnummer``, ``student_id``) and
      school ids (``school_id``, ``brin``, ``brin_code``, ``school``) replaced by keyed
      pseudonyms (:func:`pseudonym`, prefixes ``P`` and ``S``) in ``pupil_id`` /
      ``school_id``; ``swv_id`` is left as it is;
    * BSN, name and contact columns dropped (by column name, and any column whose values
      are BSNs or e-mail addresses);
    * birth dates (geboortedatum, birth_date, date_of_birth) reduced to ``birth_month``
      ``YYYY-MM``; full postcodes reduced to ``pc4``;
    * ``datapackage.json``, if present, copied with ``"pseudonymised": true`` in its
      ``thuiszit`` section. Other files are not copied (listed in the report).

    The key is read from ``key_file`` or created there (:func:`load_or_create_key`); it
    must not lie inside ``out``. Raw values are never logged. Raises :class:`PrivacyError`
    with a message for the user when the input cannot be handled.

    Example:
        >>> import tempfile
        >>> base = Path(tempfile.mkdtemp())
        >>> (base / "raw").mkdir()
        >>> _ = (base / "raw" / "leerlingen.csv").write_bytes(
        ...     "leerlingnummer;naam;geboortedatum\\n4711;Testkind Zoë;03-05-2011\\n"
        ...     .encode("cp1252"))
        >>> report = pseudonymise_folder(base / "raw", base / "out", base / "k.key")
        >>> print((base / "out" / "leerlingen.csv").read_text())  # doctest: +ELLIPSIS
        pupil_id,birth_month
        P...,2011-05
        <BLANKLINE>
        >>> print(report.summary().splitlines()[3:6])
        ['    pseudonymised: leerlingnummer -> pupil_id', '    reduced: geboortedatum -> birth_month', '    dropped: naam (name)']
    """  # noqa: E501
    raw, out, key_file = Path(raw), Path(out), Path(key_file)
    if not raw.is_dir():
        raise PrivacyError(f"RAW folder {raw} does not exist or is not a folder.")
    if out.resolve() == raw.resolve():
        raise PrivacyError("OUT must be a different folder from RAW (RAW is never changed).")
    if key_file.resolve().is_relative_to(out.resolve()):
        raise PrivacyError(
            f"The key file {key_file} lies inside OUT; keep it elsewhere, or it would be "
            "shared with the pseudonymised data."
        )
    mapping: dict[str, str] = {}
    for action, columns in (("keep", keep), ("drop", drop), ("pseudonymise", pseudonymise)):
        for c in columns:
            norm = _normalise_column_name(c)
            if mapping.get(norm, action) != action:
                raise PrivacyError(f"Column {c!r} is given to two of --keep/--drop/--pseudonymise.")
            mapping[norm] = action
    key_created = not key_file.exists()
    key = load_or_create_key(key_file)
    report = PseudonymisationReport(raw=raw, out=out, key_file=key_file, key_created=key_created)
    known = _known_columns(_declared_extra_fields(raw / "datapackage.json"))
    results: list[tuple[Path, pd.DataFrame]] = []
    for path in sorted(raw.iterdir()):
        if not path.is_file() or path.name == "datapackage.json":
            continue
        if path.suffix.lower() != ".csv":
            report.skipped.append(path.name)
            continue
        df, encoding, delimiter = _read_raw_csv(path)
        file_report = FilePseudonymisation(
            file=path.name, rows=len(df), encoding=encoding, delimiter=delimiter
        )
        result = _pseudonymise_table(df, key, file_report, mapping, known)
        if len(result) != len(df):  # pragma: no cover - guarded by construction
            raise PrivacyError(f"{path.name}: row count changed; report this as a bug.")
        results.append((path, result))
        report.files.append(file_report)
    refused = [(f.file, c, what) for f in report.files for c, what in f.refused.items()]
    if refused:
        listing = "; ".join(f"{file}, column {col!r}: looks like {what}"
                            for file, col, what in refused)
        first = refused[0][1]
        raise PrivacyError(
            f"Not pseudonymised: {len(refused)} column(s) that are not part of the cohort "
            f"format look identifying ({listing}). Nothing was written. Say what to do with "
            f"each: --drop {first!r} to leave it out, --pseudonymise {first!r} for keyed "
            f"pseudonyms, or --keep {first!r} if you checked it identifies no one."
        )
    out.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()
    for path, result in results:
        result.to_csv(out / path.name, index=False, encoding="utf-8", lineterminator="\n")
        written.add(path.name)
        file_report = next(f for f in report.files if f.file == path.name)
        logger.info(
            "%s: %d rows, pseudonymised %s, dropped %s, reduced %s",
            mask_text(path.name),
            len(result),
            mask_text(str(list(file_report.pseudonymised))),
            mask_text(str(list(file_report.dropped))),
            mask_text(str(list(file_report.reduced))),
        )
    if (raw / "datapackage.json").is_file():
        _copy_datapackage(raw / "datapackage.json", out / "datapackage.json", written)
        report.datapackage_copied = True
    return report

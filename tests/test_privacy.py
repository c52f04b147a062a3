"""Tests for thuiszit_eval.privacy. All data here are simulated; names are obviously fake."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval import privacy
from thuiszit_eval.privacy import bsn_mask, elfproef


def _passes_rule(number: int) -> bool:
    """The 11-proef written out from its definition, independent of the module."""
    digits = [int(d) for d in f"{number:09d}"]
    total = sum(w * d for w, d in zip(range(9, 1, -1), digits[:8], strict=True)) - digits[8]
    return total % 11 == 0 and number != 0


def _fake_bsns(n: int, seed: int = 0, digits: int = 9) -> list[int]:
    """n distinct numbers that pass the 11-proef (simulated, not real BSNs)."""
    rng = np.random.default_rng(seed)
    low = 10 ** (digits - 1)
    found: list[int] = []
    while len(found) < n:
        candidate = int(rng.integers(low, 10**digits))
        if _passes_rule(candidate) and candidate not in found:
            found.append(candidate)
    return found


# --------------------------------------------------------------------------- elfproef


def test_rule_helper_agrees_with_worked_examples() -> None:
    # 9*1+8*1+7*1+6*2+5*2+4*2+3*3+2*3-1*3 = 66 = 6*11
    assert _passes_rule(111222333)
    # 9*1+8*2+7*3+6*4+5*5+4*6+3*7+2*8-1*9 = 147 = 13*11 + 4
    assert not _passes_rule(123456789)


@pytest.mark.parametrize("value", ["111222333", 111222333, 111222333.0, " 111222333 "])
def test_elfproef_valid_in_every_form(value: object) -> None:
    assert elfproef(value)


@pytest.mark.parametrize(
    "value",
    [
        "123456789",  # fails the 11-proef
        123456789,
        "000000000",  # all zeros: divisible by 11 but not a BSN
        0,
        "1112223330",  # 10 digits
        "1112223",  # 7 digits
        111222333.5,  # not integral
        "11122233a",
        "",
        None,
        np.nan,
        float("inf"),
        True,
        -111222333,
        "15.01.2023",  # a date written with dots
    ],
)
def test_elfproef_invalid(value: object) -> None:
    assert not elfproef(value)


def test_elfproef_grouped_notation() -> None:
    assert elfproef("1112.22.333")
    assert elfproef("111 222 333")
    assert not elfproef("1234.56.789")


def test_eight_digits_get_their_leading_zero_back() -> None:
    eight = _fake_bsns(5, seed=1, digits=8)
    for number in eight:
        assert _passes_rule(number)  # padded to 0ddddddd by the helper too
        assert elfproef(number)
        assert elfproef(str(number))
        assert elfproef(f"{number:09d}")
        assert elfproef(float(number))
    assert bsn_mask(pd.Series(eight)).all()
    assert bsn_mask(pd.Series([f"{n:09d}" for n in eight])).all()


def test_bsn_mask_ignores_missing_and_keeps_index() -> None:
    series = pd.Series(["111222333", None, np.nan, "", "123456789"], index=[5, 3, 3, 9, 1])
    mask = bsn_mask(series)
    assert mask.dtype == bool
    assert mask.index.equals(series.index)
    assert mask.tolist() == [True, False, False, False, False]
    assert bsn_mask(pd.Series([111222333, None], dtype="Int64")).tolist() == [True, False]
    assert bsn_mask(pd.Series([111222333.0, np.nan])).tolist() == [True, False]
    assert not bsn_mask(pd.Series([True, False])).any()
    assert not bsn_mask(pd.Series(pd.to_datetime(["2020-01-01"]))).any()
    assert bsn_mask(pd.Series([], dtype=object)).empty


def test_bsn_mask_equals_scalar_on_random_numbers() -> None:
    rng = np.random.default_rng(42)
    numbers = rng.integers(0, 2 * 10**9, size=20_000)
    numbers[:3000] = rng.integers(10**7, 10**8, size=3000)  # many 8-digit values
    scalar = np.array([elfproef(int(n)) for n in numbers])
    assert 0.05 < scalar.mean() < 0.12  # about 1 in 11 of the 8-9 digit numbers
    as_int = pd.Series(numbers)
    as_str = as_int.astype(str)
    as_float = as_int.astype(float)
    as_object = pd.Series([n if i % 3 else str(n) for i, n in enumerate(numbers.tolist())])
    for series in (as_int, as_str, as_float, as_float.astype(str), as_object):
        np.testing.assert_array_equal(bsn_mask(series).to_numpy(), scalar)
    np.testing.assert_array_equal(
        bsn_mask(as_str).to_numpy(), np.array([elfproef(s) for s in as_str])
    )


def test_mask_never_shows_the_whole_number() -> None:
    shown = privacy._mask_bsn_digits(np.array([1, 1, 1, 2, 2, 2, 3, 3, 3]))
    assert shown == "11****333"

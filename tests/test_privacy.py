"""Tests for thuiszit_eval.privacy. All data here are simulated; names are obviously fake."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval import privacy
from thuiszit_eval.privacy import bsn_mask, elfproef, pseudonym


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


# --------------------------------------------------------------- find_direct_identifiers


def _pseudonyms(n: int, prefix: str, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"))
    return [prefix + "".join(rng.choice(alphabet, 16)) for _ in range(n)]


@pytest.fixture
def clean_cohort_table() -> pd.DataFrame:
    """A pseudonymised table as the cohort format has it: nothing may be reported."""
    n = 2_000
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "pupil_id": _pseudonyms(n, "P", 1),
            "school_id": _pseudonyms(n, "S", 2),
            "episode_id": [f"{i:016x}" for i in rng.integers(0, 2**62, n)],
            "swv_id": rng.choice(["SWV2801", "SWV2802"], n),
            "birth_month": rng.choice(["2010-01", "2011-07"], n),
            "municipality_code": "GM0363",
            "absence_start": pd.date_range("2023-01-02", periods=n, freq="D").strftime("%Y-%m-%d"),
            "reported_date": pd.date_range("2023-01-09", periods=n, freq="D"),
            "date_int": pd.date_range("2020-01-01", periods=n, freq="D")
            .strftime("%Y%m%d")
            .astype(int),
            "dayparts_per_week": rng.integers(0, 11, n),
            "scheduled_dayparts": rng.integers(0, 11, n).astype(float),
            "support_needs": "autism|school_refusal",
            "pc4": rng.choice(["1011", "9999"], n),
        }
    )


def test_clean_cohort_table_has_no_findings(clean_cohort_table: pd.DataFrame) -> None:
    assert privacy.find_direct_identifiers(clean_cohort_table) == []


def test_flags_name_and_bsn_columns_but_not_ids_dayparts_or_dates(
    clean_cohort_table: pd.DataFrame,
) -> None:
    df = clean_cohort_table.head(6).copy()
    bsns = _fake_bsns(6, seed=7)
    df["naam"] = ["Testkind Zoë", "Fake Piet", None, "", "Voorbeeld Jan", "Nep Anna"]
    df["nummer"] = [None, "123456789", *[str(b) for b in bsns[2:]]]
    findings = privacy.find_direct_identifiers(df)
    by_column = {f["column"]: f for f in findings}
    assert set(by_column) == {"naam", "nummer"}

    name = by_column["naam"]
    assert name["kind"] == "name"
    assert name["first_row"] == 2  # header row 1, first data row 2
    assert name["n_values"] == 4  # missing and empty not counted
    assert "Zoë" not in name["message"]

    bsn = by_column["nummer"]
    assert bsn["kind"] == "bsn"
    assert bsn["n_values"] == 4
    assert bsn["first_row"] == 4  # rows 2 (missing) and 3 (fails the 11-proef) skipped
    assert "pseudonymise RAW OUT --key-file K" in bsn["hint"]
    for number in bsns:
        assert str(number) not in bsn["message"]
    masked = f"{bsns[2]:09d}"
    assert f"{masked[:2]}****{masked[-3:]}" in bsn["message"]
    for finding in findings:
        assert set(finding) == {"column", "kind", "first_row", "n_values", "message", "hint"}


def test_bsn_as_int_float_and_eight_digits() -> None:
    bsns = _fake_bsns(4, seed=11, digits=8) + _fake_bsns(4, seed=12)
    df = pd.DataFrame({"a": bsns, "b": [float(b) for b in bsns], "c": [str(b) for b in bsns]})
    kinds = [(f["column"], f["kind"], f["n_values"]) for f in privacy.find_direct_identifiers(df)]
    assert kinds == [("a", "bsn", 8), ("b", "bsn", 8), ("c", "bsn", 8)]


def test_random_nine_digit_numbers_flagged_with_a_chance_note() -> None:
    numbers = pd.Series(np.random.default_rng(5).integers(10**8, 10**9, 1000))
    (finding,) = privacy.find_direct_identifiers(pd.DataFrame({"dossiernummer": numbers}))
    assert finding["kind"] == "bsn"
    assert "by chance" in finding["message"]
    assert (
        privacy.find_direct_identifiers(
            pd.DataFrame({"dossiernummer": numbers}), allowed={"dossiernummer"}
        )
        == []
    )


@pytest.mark.parametrize(
    ("column", "values", "kind"),
    [
        ("voornaam", ["Fake"], "name"),
        ("Achternaam", ["Testpersoon"], "name"),
        ("tussenvoegsel", ["van der"], "name"),
        ("last_name", ["Example"], "name"),
        ("naam_ouder1", ["Nep Ouder"], "name"),
        ("E-mail", ["x@example.org"], "contact"),
        ("opmerking", ["mail naar nep@example.org"], None),  # free text: not an address
        ("contact", ["nep@example.org"], "contact"),
        ("telefoon", ["0600000000"], "contact"),
        ("adres", ["Nepstraat 1"], "contact"),
        ("postcode", ["1234 AB"], "postcode"),
        ("postcode", ["1234"], None),
        ("pc4", ["1234"], None),
        ("woonplaats_code", ["1234AB"], "postcode"),
        ("geboortedatum", ["01-02-2010"], "birth_date"),
        ("date_of_birth", ["2010-02-01"], "birth_date"),
        ("birth_date", ["2010-02"], None),
        ("birth_month", ["2010-02-01"], None),  # name does not say birth date
        ("geboortedatum", [None], None),
        ("bsn", ["onbekend"], "bsn"),
    ],
)
def test_kinds_by_name_and_value(column: str, values: list[object], kind: str | None) -> None:
    findings = privacy.find_direct_identifiers(pd.DataFrame({column: values}))
    assert [f["kind"] for f in findings] == ([kind] if kind else [])


def test_birth_dates_as_datetime_dtype() -> None:
    df = pd.DataFrame({"geboortedatum": pd.to_datetime(["2010-02-01", None, "2011-03-04"])})
    (finding,) = privacy.find_direct_identifiers(df)
    assert (finding["kind"], finding["first_row"], finding["n_values"]) == ("birth_date", 2, 2)


def test_docstring_examples() -> None:
    import doctest

    result = doctest.testmod(privacy, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0


# ------------------------------------------------------------------ keyed pseudonyms

ID_PATTERN = r"^[A-Za-z0-9_-]{4,64}$"


def test_pseudonym_is_the_documented_hmac() -> None:
    import base64
    import hashlib
    import hmac

    key = bytes(range(32))
    expected = base64.b32encode(hmac.new(key, b"4711", hashlib.sha256).digest())[:16]
    assert pseudonym(pd.Series(["4711"]), key, "P").iloc[0] == "P" + expected.decode()


def test_pseudonym_deterministic_per_key_and_differs_across_keys() -> None:
    ids = pd.Series(["L0001", "L0002", "l0001 ", None, ""])
    key_a, key_b = b"a" * 32, b"b" * 32
    first = pseudonym(ids, key_a, "P")
    assert first.equals(pseudonym(ids.copy(), key_a, "P"))
    assert first.iloc[0] == first.iloc[2]  # case and whitespace normalised
    assert first.iloc[0] != first.iloc[1]
    assert first.iloc[3:].isna().all()  # missing stays missing
    other = pseudonym(ids, key_b, "P")
    assert (first.iloc[:3] != other.iloc[:3]).all()
    assert first.iloc[:3].str.fullmatch(ID_PATTERN).all()
    assert first.iloc[:3].str.len().eq(17).all()
    assert pseudonym(ids, key_a, "S").iloc[0].startswith("S")


def test_pseudonym_links_excel_mangled_ids() -> None:
    key = b"k" * 32
    values = pd.Series(["000123", 123, 123.0, "123.0", " 123 "], dtype=object)
    assert pseudonym(values, key, "P").nunique() == 1


def test_pseudonym_rejects_short_key_and_bad_prefix() -> None:
    with pytest.raises(privacy.PrivacyError, match="bytes"):
        pseudonym(pd.Series(["1"]), b"short", "P")
    with pytest.raises(privacy.PrivacyError, match="prefix"):
        pseudonym(pd.Series(["1"]), b"k" * 32, "P/")


def test_key_file_created_0600_and_reused(tmp_path) -> None:
    path = tmp_path / "keys" / "thuiszit.key"
    key = privacy.load_or_create_key(path)
    assert len(key) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text().strip() == key.hex()
    assert privacy.load_or_create_key(path) == key
    assert privacy.load_or_create_key(str(path)) == key


def test_key_file_refused_when_short_or_not_hex(tmp_path) -> None:
    short = tmp_path / "short.key"
    short.write_text("ab" * 16)
    with pytest.raises(privacy.PrivacyError, match="16 bytes"):
        privacy.load_or_create_key(short)
    empty = tmp_path / "empty.key"
    empty.write_text("")
    with pytest.raises(privacy.PrivacyError, match="0 bytes"):
        privacy.load_or_create_key(empty)
    garbage = tmp_path / "garbage.key"
    garbage.write_text("not a key at all")
    with pytest.raises(privacy.PrivacyError, match="not a hex key"):
        privacy.load_or_create_key(garbage)
    with pytest.raises(privacy.PrivacyError, match="folder"):
        privacy.load_or_create_key(tmp_path)


# ------------------------------------------------------------------ pseudonymise_folder


def _write_raw_export(folder, bsns: list[int], year: int) -> None:
    """A fake Dutch Excel export: ';' delimited, cp1252, with an accented fake name."""
    folder.mkdir(parents=True)
    rows = [
        "Leerlingnummer;Roepnaam;Achternaam;BSN;Geboortedatum;BRIN;swv_id;Postcode;E-mail;sex",
        f"000101;Zoë;Testkind;{bsns[0]};03-05-2011;99XX;SWV2801;1234 AB;zoe@example.org;f",
        f"102;Daniël;Nepleerling;{bsns[1]};2010-12-31;98YY;SWV2801;5678CD;;m",
        f"103;Fake;Voorbeeld;{bsns[2]:09d};;99XX;SWV2802;;;x",
    ]
    (folder / f"leerlingen_{year}.csv").write_bytes(("\r\n".join(rows) + "\r\n").encode("cp1252"))
    episodes = "leerling_id,episode_type,absence_start\n101,lrv,2023-01-09\n103,dreigend,\n"
    (folder / f"episodes_{year}.csv").write_text(episodes, encoding="utf-8")
    (folder / "notes.xlsx").write_bytes(b"not really excel")
    package = {
        "name": "fake",
        "resources": [
            {"path": f"leerlingen_{year}.csv", "encoding": "cp1252", "dialect": {"delimiter": ";"}}
        ],
    }
    (folder / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")


@pytest.fixture
def pseudonymised(tmp_path):
    bsns = _fake_bsns(3, seed=21)
    bsns[2] = _fake_bsns(1, seed=22, digits=8)[0]  # Excel dropped the leading zero
    raw = tmp_path / "raw"
    _write_raw_export(raw, bsns, 2023)
    key_file = tmp_path / "secret" / "thuiszit.key"
    report = privacy.pseudonymise_folder(raw, tmp_path / "out", key_file)
    return report, raw, tmp_path / "out", key_file, bsns


def test_output_has_no_bsn_names_or_contact(pseudonymised) -> None:
    report, _raw, out, _key_file, _bsns = pseudonymised
    pupils = pd.read_csv(out / "leerlingen_2023.csv", dtype=str, keep_default_na=False)
    assert list(pupils.columns) == ["pupil_id", "birth_month", "school_id", "swv_id", "pc4", "sex"]
    assert pupils["birth_month"].tolist() == ["2011-05", "2010-12", ""]
    assert pupils["pc4"].tolist() == ["1234", "5678", ""]
    assert pupils["swv_id"].tolist() == ["SWV2801", "SWV2801", "SWV2802"]
    assert pupils["pupil_id"].str.fullmatch(ID_PATTERN).all()
    assert pupils["school_id"].str.fullmatch(ID_PATTERN).all()
    assert pupils["school_id"].nunique() == 2
    assert privacy.find_direct_identifiers(pupils) == []

    (pupil_report, episode_report) = sorted(report.files, key=lambda f: f.file, reverse=True)
    assert pupil_report.rows == 3 and episode_report.rows == 2
    assert (pupil_report.encoding, pupil_report.delimiter) == ("cp1252", ";")
    assert (episode_report.encoding, episode_report.delimiter) == ("utf-8", ",")
    assert pupil_report.dropped == {
        "Roepnaam": "name",
        "Achternaam": "name",
        "BSN": "bsn",
        "E-mail": "contact",
    }
    assert pupil_report.pseudonymised == {"Leerlingnummer": "pupil_id", "BRIN": "school_id"}
    assert pupil_report.reduced == {"Geboortedatum": "birth_month", "Postcode": "pc4"}
    assert report.skipped == ["notes.xlsx"]
    assert not (out / "notes.xlsx").exists()
    summary = report.summary()
    assert "NEW key" in summary and "Roepnaam (name)" in summary and "notes.xlsx" in summary


def test_no_raw_value_anywhere_in_out(pseudonymised) -> None:
    report, _raw, out, _key_file, bsns = pseudonymised
    forbidden = [
        "000101",
        "Zoë",
        "Zo\xeb",
        "Daniël",
        "Testkind",
        "Nepleerling",
        "Voorbeeld",
        "99XX",
        "98YY",
        "1234 AB",
        "5678CD",
        "zoe@example.org",
        "03-05-2011",
        "2010-12-31",
    ]
    forbidden += [str(b) for b in bsns] + [f"{b:09d}" for b in bsns]
    blobs = b"".join(p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file())
    for value in forbidden:
        for encoding in ("utf-8", "cp1252"):
            assert value.encode(encoding) not in blobs, value
        assert value not in report.summary()
    # raw short ids such as 102 are not asserted: they may occur by chance in pseudonyms


def test_rows_preserved_and_utf8_comma(pseudonymised) -> None:
    _report, raw, out, _key_file, _bsns = pseudonymised
    for path in raw.glob("*.csv"):
        text = (out / path.name).read_bytes().decode("utf-8")
        n_raw = len([line for line in path.read_bytes().splitlines() if line.strip()])
        assert len(text.splitlines()) == n_raw
        assert ";" not in text.splitlines()[0]


def test_linkage_across_files_and_years(pseudonymised, tmp_path) -> None:
    _report, _raw, out, key_file, bsns = pseudonymised
    pupils = pd.read_csv(out / "leerlingen_2023.csv", dtype=str)
    episodes = pd.read_csv(out / "episodes_2023.csv", dtype=str)
    # leerlingnummer 000101 in one file and leerling_id 101 in the other link
    assert episodes["pupil_id"].tolist() == [pupils["pupil_id"][0], pupils["pupil_id"][2]]
    # next year's export, same key: same pseudonyms
    _write_raw_export(tmp_path / "raw2024", bsns, 2024)
    report = privacy.pseudonymise_folder(tmp_path / "raw2024", tmp_path / "out2024", key_file)
    assert not report.key_created
    again = pd.read_csv(tmp_path / "out2024" / "leerlingen_2024.csv", dtype=str)
    assert again["pupil_id"].equals(pupils["pupil_id"])
    # another key: no link
    other = privacy.pseudonymise_folder(
        tmp_path / "raw2024", tmp_path / "out_other", tmp_path / "other.key"
    )
    assert other.key_created
    unlinked = pd.read_csv(tmp_path / "out_other" / "leerlingen_2024.csv", dtype=str)
    assert not set(unlinked["pupil_id"]) & set(pupils["pupil_id"])


def test_key_file_mode_and_datapackage(pseudonymised) -> None:
    report, _raw, out, key_file, _bsns = pseudonymised
    assert report.key_created
    assert key_file.stat().st_mode & 0o777 == 0o600
    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    assert package["thuiszit"]["pseudonymised"] is True
    assert package["resources"][0]["encoding"] == "utf-8"
    assert package["resources"][0]["dialect"]["delimiter"] == ","


def test_bad_input_gives_privacy_errors_without_values(tmp_path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    key = tmp_path / "k.key"
    with pytest.raises(privacy.PrivacyError, match="different folder"):
        privacy.pseudonymise_folder(raw, raw, key)
    with pytest.raises(privacy.PrivacyError, match="inside OUT"):
        privacy.pseudonymise_folder(raw, tmp_path / "out", tmp_path / "out" / "k.key")
    with pytest.raises(privacy.PrivacyError, match="does not exist"):
        privacy.pseudonymise_folder(tmp_path / "nope", tmp_path / "out", key)
    (raw / "a.csv").write_text("leerlingnummer;geboortedatum\n1;31-02-20x1\n2;01-01-2010\n")
    with pytest.raises(privacy.PrivacyError, match="row 2") as info:
        privacy.pseudonymise_folder(raw, tmp_path / "out", key)
    assert "20x1" not in str(info.value)
    (raw / "a.csv").write_text("")
    with pytest.raises(privacy.PrivacyError, match="empty"):
        privacy.pseudonymise_folder(raw, tmp_path / "out", key)


# ------------------------------------------------- unrecognised identifying columns (issue 12)


def _raw_with(tmp_path, column: str, values: list[str]):
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    rows = [f"leerling_id;sex;{column}"] + [
        f"{100 + i};f;{v}" for i, v in enumerate(values)
    ]
    (raw / "pupils.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return raw


@pytest.mark.parametrize(
    "column,values,looks",
    [
        ("dossiernummer", ["1", "2", "3"], "identifiers"),
        ("onderwijsnummer", ["A1", "B2", "C3"], "identifiers"),
        ("kenmerk", [f"Z{700 + i}X" for i in range(6)], "identifiers"),
        ("opmerking", ["Jan Jansen", "Piet de Vries", ""], "names of people"),
        ("contact_info", ["ouder@example.org", "", ""], "e-mail addresses"),
        ("nummer_x", ["111222333", "", ""], "BSN"),
        ("info", ["06-12345678", "", ""], "phone numbers"),
        ("info", ["+31 6 1234 5678", "", ""], "phone numbers"),
        ("wijk", ["1234 AB", "centrum", "noord"], "postcodes"),
    ],
)
def test_pseudonymise_refuses_unrecognised_identifying_columns(tmp_path, column, values, looks):
    raw = _raw_with(tmp_path, column, values)
    out = tmp_path / "out"
    with pytest.raises(privacy.PrivacyError, match=looks) as info:
        privacy.pseudonymise_folder(raw, out, tmp_path / "k.key")
    message = str(info.value)
    assert f"--drop '{column}'" in message and "Nothing was written" in message
    assert not out.exists()
    for v in values:
        if len(v) > 3:
            assert v not in message


def test_pseudonymise_mapping_flags(tmp_path):
    raw = _raw_with(tmp_path, "dossiernummer", ["9001", "9002", "9003"])
    key = tmp_path / "k.key"
    kept = privacy.pseudonymise_folder(raw, tmp_path / "kept", key, keep=["dossiernummer"])
    assert pd.read_csv(tmp_path / "kept" / "pupils.csv", dtype=str).dossiernummer.tolist() == [
        "9001", "9002", "9003"]
    assert "kept as asked (--keep): dossiernummer" in kept.summary()
    privacy.pseudonymise_folder(raw, tmp_path / "dropped", key, drop=["Dossiernummer"])
    assert "dossiernummer" not in pd.read_csv(tmp_path / "dropped" / "pupils.csv").columns
    privacy.pseudonymise_folder(raw, tmp_path / "ps", key, pseudonymise=["dossiernummer"])
    ps = pd.read_csv(tmp_path / "ps" / "pupils.csv", dtype=str).dossiernummer
    assert ps.str.fullmatch(r"X[A-Z2-7]{16}").all() and "9001" not in ps.tolist()
    with pytest.raises(privacy.PrivacyError, match="two of"):
        privacy.pseudonymise_folder(raw, tmp_path / "x", key, keep=["a"], drop=["a"])


def test_pseudonymise_recognises_leerlingnr_and_cohort_columns(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "episodes.csv").write_text(
        "leerlingnr,episode_id,episode_type,absence_start\n4711,E1,lrv,2023-01-09\n"
        "4712,E2,lrv,2023-02-09\n"
    )
    report = privacy.pseudonymise_folder(raw, tmp_path / "out", tmp_path / "k.key")
    assert report.files[0].pseudonymised == {"leerlingnr": "pupil_id"}
    written = (tmp_path / "out" / "episodes.csv").read_text()
    assert "4711" not in written and "E1" in written


def test_pseudonymise_cli_refusal_exits_two_without_traceback(tmp_path, capsys):
    from thuiszit_eval.cli import main

    raw = _raw_with(tmp_path, "dossiernummer", ["9001", "9002", "9003"])
    code = main(["pseudonymise", str(raw), str(tmp_path / "out"), "--key-file",
                 str(tmp_path / "k.key")])
    err = capsys.readouterr().err
    assert code == 2 and "dossiernummer" in err and "Traceback" not in err
    code = main(["pseudonymise", str(raw), str(tmp_path / "out"), "--key-file",
                 str(tmp_path / "k.key"), "--drop", "dossiernummer"])
    assert code == 0

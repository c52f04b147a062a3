"""Wiring of ``thuiszit-eval federated-demo`` (the full run is what notebook 13 does under
nbval; it takes about two minutes, so it is not repeated here)."""

from __future__ import annotations

from thuiszit_eval import cli


def test_federated_demo_options_and_defaults():
    args = cli.build_parser().parse_args(["federated-demo"])
    assert args.func is cli._federated_demo
    assert (args.min_cell, args.group, args.workdir) == (10, "female", None)
    args = cli.build_parser().parse_args(["federated-demo", "--min-cell", "1", "--group",
                                          "age_12plus", "--workdir", "w"])
    assert (args.min_cell, args.group, args.workdir) == (1, "age_12plus", "w")


def test_federated_demo_bad_group_is_a_message_not_a_traceback(capsys, tmp_path):
    code = cli.main(["federated-demo", "--group", "no_such_column", "--workdir",
                     str(tmp_path)])
    assert code == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert "no_such_column" in err and "Traceback" not in err


def test_notebook_13_narrative_same_sections_and_numbers_in_both_languages():
    import re

    from thuiszit_eval.narrative import sections
    nl, en = sections("13_multi_region", "nl"), sections("13_multi_region", "en")
    assert nl.keys() == en.keys() and {"intro", "curves", "target_trial"} <= set(nl)
    for k in nl:
        assert set(re.findall(r"{(\w+)}", nl[k])) == set(re.findall(r"{(\w+)}", en[k])), k

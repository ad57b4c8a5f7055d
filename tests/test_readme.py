"""The README's quickstart and the package docstring are doctests: they must stay true."""

import doctest

import schedengine
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_quickstart(monkeypatch):
    monkeypatch.chdir(ROOT)
    failures, tried = doctest.testfile(str(ROOT / "README.md"), module_relative=False,
                                       optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert tried > 5 and failures == 0


def test_package_docstring(monkeypatch):
    """It said 'Holiday' for a Monday Acme is open, unnoticed: it was skipped."""
    monkeypatch.chdir(ROOT)
    failures, tried = doctest.testmod(schedengine)
    assert tried >= 4 and failures == 0


def readme_commands() -> list[tuple[str, str]]:
    """(command, printed output) for each `$ ...` line in the README's code blocks."""
    examples, command, output, in_block = [], None, [], False
    for line in (ROOT / "README.md").read_text().splitlines() + ["```"]:
        if line.startswith("```"):
            in_block = not in_block
        if (line.startswith("$ ") or line.startswith("```")) and command is not None:
            examples.append((command, "\n".join(output).rstrip("\n")))
            command, output = None, []
        if not in_block:
            continue
        if line.startswith("$ "):
            command = line[2:].split("  #")[0].strip()
        elif command is not None:
            output.append(line)
    return examples


def readme_cli_examples() -> list[tuple[str, str]]:
    """The `$ schedengine ...` examples on the bundled demo tree; the patch
    session (on a copy, with files of its own) is checked below."""
    return [(c, out) for c, out in readme_commands()
            if c.startswith("schedengine ") and "--customers" not in c and ".json" not in c]


def _matches(shown: str, printed: str) -> bool:
    return doctest.OutputChecker().check_output(shown + "\n", printed,
                                                doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)


def test_readme_cli_examples_print_what_the_readme_shows(capsys):
    from schedengine.cli import main

    examples = readme_cli_examples()
    assert {c.split()[1] for c, _ in examples} >= {"state-at", "explain", "next-change", "timeline", "week",
                                                   "validate"}
    for command, shown in examples:
        assert main(command.split()[1:]) == 0, command
        printed = capsys.readouterr().out
        assert _matches(shown, printed), f"{command}\n--- README ---\n{shown}\n--- printed ---\n{printed}"


def test_readme_validate_example_with_broken_rules(capsys, tmp_path, monkeypatch):
    """`validate multi.json`: the demo tree with the three rules the README names broken."""
    import json

    from schedengine.cli import main

    records = json.loads((ROOT / "fixtures" / "demo.json").read_text())
    breaks = {"r-sydney-business": ("startTime", "25:00"), "r-lordhowe-business": ("byMonthDay", [32]),
              "r-denver-business": ("frequency", "Fortnightly")}
    for record in records:
        for rule in (record.get("schedule") or {}).get("rules") or []:
            if rule.get("id") in breaks:
                field, value = breaks.pop(rule["id"])
                rule[field] = value
    assert not breaks
    monkeypatch.chdir(tmp_path)
    (tmp_path / "multi.json").write_text(json.dumps(records))
    [(command, shown)] = [(c, out) for c, out in readme_commands() if "multi.json" in c]
    assert main(command.split()[1:]) == 1
    captured = capsys.readouterr()
    assert _matches(shown, captured.err + captured.out), (command, shown, captured)


def test_readme_patch_session_prints_what_the_readme_shows(capsys, tmp_path, monkeypatch):
    """The session on a copy of the demo tree, step by step; the stamp of the
    patch is the time it ran."""
    import re
    import shlex
    import shutil

    from schedengine.cli import main

    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "fixtures" / "demo.json", tmp_path / "tree.json")
    session = [(c, out) for c, out in readme_commands() if "tree.json" in c or c.startswith("cat ")]
    assert [c.split()[1] for c, _ in session] == ["state-at", "support-24x7.jsv", "patch", "state-at", "state-at"]
    stamp = re.compile(r"^(modified +)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", re.MULTILINE)
    for command, shown in session:
        words = shlex.split(command)
        if words[0] == "cat":
            (tmp_path / words[1]).write_text(shown + "\n")
            continue
        assert main(words[1:]) == 0, command
        printed = stamp.sub(r"\1STAMP", capsys.readouterr().out)
        assert _matches(stamp.sub(r"\1STAMP", shown), printed), (
            f"{command}\n--- README ---\n{shown}\n--- printed ---\n{printed}")

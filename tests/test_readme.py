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


def readme_cli_examples() -> list[tuple[str, str]]:
    """(command, printed output) for each `$ schedengine ...` example on the
    bundled demo tree; the patch session (on a copy, with files of its own)
    has its own tests in test_patch.py."""
    examples, command, output, in_block = [], None, [], False
    for line in (ROOT / "README.md").read_text().splitlines() + ["```"]:
        if line.startswith("```"):
            in_block = not in_block
        if (line.startswith("$ ") or line.startswith("```")) and command is not None:
            examples.append((command, "\n".join(output).rstrip("\n")))
            command, output = None, []
        if not in_block:
            continue
        if line.startswith("$ schedengine ") and "--customers" not in line and ".json" not in line:
            command = line[2:].split("  #")[0].strip()
        elif command is not None:
            output.append(line)
    return examples


def test_readme_cli_examples_print_what_the_readme_shows(capsys):
    from schedengine.cli import main

    examples = readme_cli_examples()
    assert {c.split()[1] for c, _ in examples} >= {"state-at", "explain", "next-change", "timeline", "week",
                                                   "validate"}
    checker = doctest.OutputChecker()
    for command, shown in examples:
        assert main(command.split()[1:]) == 0, command
        printed = capsys.readouterr().out
        assert checker.check_output(shown + "\n", printed, doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE), (
            f"{command}\n--- README ---\n{shown}\n--- printed ---\n{printed}")

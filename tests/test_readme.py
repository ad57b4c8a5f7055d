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

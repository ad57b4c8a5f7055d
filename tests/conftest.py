"""Hypothesis profiles: CI runs a fixed, derandomised set of examples so a
green run is reproducible; locally each run explores new examples."""

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def load_generator() -> ModuleType:
    """fixtures/generate.py is a script; load it as a module for tests."""
    path = Path(__file__).resolve().parent.parent / "fixtures" / "generate.py"
    spec = importlib.util.spec_from_file_location("fixtures_generate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def demo_tree_by_default(monkeypatch):
    """CLI runs read the bundled demo tree, named as $SCHEDENGINE_CUSTOMERS
    would name it, so they don't print the note of an operator who forgot
    --customers (tests of that note clear the variable)."""
    from schedengine.cli import bundled_demo_path

    monkeypatch.setenv("SCHEDENGINE_CUSTOMERS", bundled_demo_path())

"""``--no-skips`` (tests/no_skips.py): a skip anywhere fails the run; deselection does not.

Each case runs pytest in a subprocess on a tiny test file of its own, with the plugin
and nothing else of this suite.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.server import ROOT

SKIPPING = '''
import pytest

@pytest.fixture
def chromium():
    pytest.skip("no Chromium at /usr/bin/chromium")

def test_passes():
    pass

def test_skips_itself():
    pytest.skip("no nginx")

def test_skips_in_its_fixture(chromium):
    pass

@pytest.mark.skipif(True, reason="never here")
def test_skipped_by_marker():
    pass

@pytest.mark.xfail(reason="known", strict=True)
def test_expected_failure():
    assert False
'''


def run_pytest(tmp_path, source: str, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_sample.py").write_text(source, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.no_skips", "-p", "no:cacheprovider",
         "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path), "-rA",
         str(tmp_path / "test_sample.py"), *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": ROOT, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})


def summary(result: subprocess.CompletedProcess) -> str:
    return result.stdout.strip().splitlines()[-1]


def test_without_the_option_skips_are_skips(tmp_path):
    result = run_pytest(tmp_path, SKIPPING)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 3 skipped, 1 xfailed" in summary(result)


def test_with_the_option_every_skip_fails_the_run(tmp_path):
    result = run_pytest(tmp_path, SKIPPING, "--no-skips")
    assert result.returncode == 1, result.stdout + result.stderr
    # a skip in the call fails the test; one in the set-up (a fixture, skipif) is an error
    assert "1 failed, 1 passed, 1 xfailed, 2 errors" in summary(result)
    for outcome, name, reason in [
            ("FAILED", "test_skips_itself", "no nginx"),
            ("ERROR", "test_skips_in_its_fixture", "no Chromium at /usr/bin/chromium"),
            ("ERROR", "test_skipped_by_marker", "never here")]:
        assert f"{outcome} test_sample.py::{name}" in result.stdout
        assert f"--no-skips allows no skip: {reason}" in result.stdout


def test_a_skipped_module_fails_the_run(tmp_path):
    source = 'import pytest\npytest.importorskip("no_such_module_here")\n\ndef test_x():\n    pass\n'
    assert run_pytest(tmp_path, source).returncode == 5  # without the option: nothing ran
    result = run_pytest(tmp_path, source, "--no-skips")
    assert result.returncode == 2, result.stdout + result.stderr  # a collection error
    assert "ERROR test_sample.py - skipped, and --no-skips allows no skip" in result.stdout
    assert "could not import 'no_such_module_here'" in result.stdout


@pytest.mark.parametrize("option", ["-m", "-k"])
def test_deselected_tests_are_not_skips(tmp_path, option):
    source = ('import pytest\n\n@pytest.mark.slow\ndef test_slow():\n    pass\n\n'
              'def test_fast():\n    pass\n')
    (tmp_path / "conftest.py").write_text(
        'def pytest_configure(config):\n'
        '    config.addinivalue_line("markers", "slow: a marker")\n', encoding="utf-8")
    expression = "not slow" if option == "-m" else "fast"
    result = run_pytest(tmp_path, source, "--no-skips", option, expression)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 deselected" in summary(result)

"""The fidelity table is produced from test runs: the `fidelity` marker records each test's
outcome (only when a real Forge ran), runs merge, and the renderer writes the README table."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.forge_env import fidelity_table

REPO = Path(__file__).resolve().parents[2]

CASES = """
import pytest

@pytest.mark.fidelity("FreeU", "txt2img")
def test_same(fidelity_note):
    fidelity_note("changes the image by 3.0/255")

@pytest.mark.fidelity("FreeU", "api")
def test_other():
    assert 1 == 2, "pixels differ"

@pytest.mark.fidelity("PAG", "txt2img")
def test_timed_out():
    raise TimeoutError("Generate never became clickable")

@pytest.mark.fidelity("SAG", "img2img")
def test_skipped():
    pytest.skip("needs an asset")

@pytest.mark.fidelity("SAG", "txt2img")
@pytest.mark.xfail(reason="two Generate clicks differ too")
def test_unrepeatable():
    assert False

@pytest.mark.fidelity("X/Y/Z plot", "txt2img")
@pytest.mark.fidelity("X/Y/Z plot", "api")
def test_two_modes():
    pass

def test_unmarked():
    pass
"""


def run_pytest(
    tmp_path: Path, source: str, *args: str, forge: bool = True
) -> subprocess.CompletedProcess:
    tests = tmp_path / "cases"
    tests.mkdir(exist_ok=True)
    (tests / "test_cases.py").write_text(textwrap.dedent(source))
    record = tmp_path / "fidelity.json"
    env = {k: v for k, v in os.environ.items() if k not in ("FORGE_DIR", "FIDELITY_JSON")}
    env["FIDELITY_JSON"] = str(record)
    env["PYTHONPATH"] = str(REPO)
    if forge:
        env["FORGE_DIR"] = str(tmp_path)  # not a git checkout: the commit is left empty
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.fidelity_record", "-p",
         "no:cacheprovider", "--rootdir", str(tests), str(tests / "test_cases.py"), *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fidelity")
    run_pytest(folder, CASES)
    return folder


def record_of(folder: Path) -> Path:
    return folder / "fidelity.json"


def outcomes(record: Path) -> dict[tuple[str, str], tuple[str, str]]:
    document = json.loads(record.read_text())
    return {(r["extension"], r["mode"]): (r["outcome"], r["detail"]) for r in document["records"]}


def test_each_marked_test_records_its_outcome_per_extension_and_mode(first_run):
    assert outcomes(record_of(first_run)) == {
        ("FreeU", "txt2img"): ("identical", "changes the image by 3.0/255"),
        ("FreeU", "api"): ("differs", "AssertionError: pixels differ assert 1 == 2"),
        ("PAG", "txt2img"): ("error", "TimeoutError: Generate never became clickable"),
        ("SAG", "img2img"): ("skipped", "needs an asset"),
        ("SAG", "txt2img"): ("not repeatable", "two Generate clicks differ too"),
        ("X/Y/Z plot", "txt2img"): ("identical", ""),
        ("X/Y/Z plot", "api"): ("identical", ""),
    }


def test_nothing_is_recorded_without_a_real_forge(tmp_path):
    run_pytest(tmp_path, CASES, forge=False)
    assert not record_of(tmp_path).exists()


def test_a_later_run_replaces_only_the_tests_it_ran(first_run, tmp_path):
    shutil.copy(record_of(first_run), record_of(tmp_path))
    fixed = CASES.replace('assert 1 == 2, "pixels differ"', "pass")
    run_pytest(tmp_path, fixed, "-k", "test_other")

    found = outcomes(record_of(tmp_path))
    assert found[("FreeU", "api")] == ("identical", "")
    assert found[("FreeU", "txt2img")][0] == "identical"  # kept from the first run
    assert len(found) == 7


def test_an_unknown_mode_is_a_usage_error_and_nothing_runs(tmp_path):
    source = 'import pytest\n@pytest.mark.fidelity("FreeU", "txt2vid")\ndef test_x():\n    pass\n'
    result = run_pytest(tmp_path, source)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "txt2vid" in result.stderr
    assert not record_of(tmp_path).exists()


def test_table_shows_the_worst_outcome_per_cell_and_not_tested_gaps(first_run):
    table = fidelity_table.render(json.loads(record_of(first_run).read_text()))
    lines = table.splitlines()

    assert lines[0] == "| extension | txt2img | img2img | API | tests |"
    assert lines[2].startswith(
        "| FreeU | identical | not tested "
        "| **differs** (AssertionError: pixels differ assert 1 == 2) |"
    )
    assert lines[3].startswith(
        "| PAG | **error** (TimeoutError: Generate never became clickable) | not tested "
    )
    assert lines[4].startswith(
        "| SAG | Forge not repeatable (two Generate clicks differ too) | skipped (needs an asset)"
        " | not tested |"
    )
    assert lines[5].startswith("| X/Y/Z plot | identical | not tested | identical |")
    assert "`test_two_modes`" in lines[5]


def test_table_replaces_only_the_text_between_the_readme_markers(first_run, tmp_path):
    readme = tmp_path / "README.md"
    start, end = fidelity_table.START, fidelity_table.END
    readme.write_text(f"# Title\nbefore\n{start}\nold table\n{end}\nafter\n")

    assert fidelity_table.main(["--json", str(record_of(first_run)), "--readme", str(readme)]) == 0

    text = readme.read_text()
    assert text.startswith(f"# Title\nbefore\n{start}\n| extension |")
    assert text.endswith(f"{end}\nafter\n")
    assert "old table" not in text


def test_table_refuses_a_readme_without_markers(first_run, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n")
    with pytest.raises(SystemExit):
        fidelity_table.main(["--json", str(record_of(first_run)), "--readme", str(readme)])
    assert readme.read_text() == "# Title\n"

"""The import layers in pyproject.toml ([tool.importlinter]) hold, and catch a new circle or a
shell that reaches into a feature."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))
PACKAGES = ("opshub", "handoffs", "scoreboard", "reviews")


def _lint_imports(cwd):
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=cwd, capture_output=True, text=True, check=False
    )


def _copy_of_the_tree(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_code_keeps_its_import_layers():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout


def test_handoffs_importing_the_scoreboard_breaks_the_layers(tmp_path):
    tree = _copy_of_the_tree(tmp_path)
    services = tree / "handoffs" / "work" / "services.py"
    # A function-local import counts like any other: this is the circle the hook replaced.
    services.write_text(
        services.read_text() + "\n\ndef _tell_the_scoreboard():\n    import scoreboard.hooks\n"
    )
    result = _lint_imports(tree)
    assert result.returncode == 1
    assert "handoffs is not allowed to import scoreboard" in result.stdout


def test_a_lower_area_importing_a_higher_one_breaks_the_layers(tmp_path):
    tree = _copy_of_the_tree(tmp_path)
    models = tree / "handoffs" / "workflows" / "models.py"
    models.write_text(models.read_text() + "\nfrom handoffs.stalls import detection\n")
    result = _lint_imports(tree)
    assert result.returncode == 1
    assert "handoffs.workflows is not allowed to import handoffs.stalls" in result.stdout


def test_the_shell_importing_a_feature_breaks_the_layers(tmp_path):
    tree = _copy_of_the_tree(tmp_path)
    outbox = tree / "opshub" / "mail" / "outbox.py"
    outbox.write_text(outbox.read_text() + "\nfrom handoffs.stalls import alerts\n")
    result = _lint_imports(tree)
    assert result.returncode == 1
    assert "opshub is not allowed to import handoffs" in result.stdout


def test_a_helper_importing_the_outbox_breaks_the_shells_layers(tmp_path):
    tree = _copy_of_the_tree(tmp_path)
    dates = tree / "opshub" / "lib" / "dates.py"
    dates.write_text(dates.read_text() + "\nfrom opshub.mail import outbox\n")
    result = _lint_imports(tree)
    assert result.returncode == 1
    assert "opshub.lib is not allowed to import opshub.mail" in result.stdout

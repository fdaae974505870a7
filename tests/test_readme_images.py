"""The README's screenshots exist, are all made by the browser tests, and stay small."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGE = re.compile(r"!\[[^\]]+\]\((docs/img/[\w.-]+\.png)\)")
MADE_BY_TESTS = re.compile(r'docs_screenshot\(\s*f?"([\w{}\[\]\'-]+)"')


def test_every_feature_has_a_screenshot_that_a_browser_test_makes():
    readme = (ROOT / "README.md").read_text()
    features = readme.split("## Features", 1)[1].split("\n## ", 1)[0]
    shown = IMAGE.findall(features)
    assert len(shown) >= 9, "one screenshot per area"
    made = {
        name
        for test in (ROOT / "tests").rglob("test_*.py")
        for name in MADE_BY_TESTS.findall(test.read_text())
    }
    for path in shown:
        assert (ROOT / path).is_file(), path
        assert Path(path).stem in made, f"{path} is not taken by a browser test"


def test_the_docs_images_stay_small():
    images = list((ROOT / "docs" / "img").glob("*.png"))
    assert images
    for image in images:
        assert image.stat().st_size < 600_000, image.name
    assert sum(image.stat().st_size for image in images) < 3_000_000

"""The report behind `make demo`: its command line, its page, and the page in a real browser."""

import html.parser
import re
import subprocess
import sys

import pytest

from convscope.report import SECTIONS, Page
from tests._browser import system_chromium


class _Collect(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.sections, self.images, self.links, self.accuracy = [], [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id"))
        if tag == "img":
            self.images.append(a.get("src"))
        if tag in ("link", "script") or (tag == "a" and not str(a.get("href", "")).startswith("#")):
            self.links.append((tag, a))
        if a.get("id") == "accuracy":
            self.accuracy = float(a["data-value"])


def test_demo_prints_the_report_path_and_the_accuracy_last(demo_run):
    path_line, accuracy_line = demo_run["last_lines"]
    assert path_line.endswith(str(demo_run["page"].resolve()))
    assert demo_run["page"].is_file()
    assert 10.0 < demo_run["accuracy_percent"] <= 100.0
    assert "y[0, 0] = 1*1 + 2*1 + 5*(-1) + 6*(-1) = -8" in demo_run["stdout"]    # the worked example first


def test_report_has_every_section_and_its_pictures_on_disk(demo_run):
    parser = _Collect()
    parser.feed(demo_run["page"].read_text(encoding="utf-8"))
    assert parser.sections == list(SECTIONS)
    assert len(parser.images) >= 30
    for src in parser.images:
        assert not re.match(r"^[a-z]+:", src), f"{src} is not a local file"
        assert (demo_run["out"] / src).stat().st_size > 500, src
    assert parser.links == []                    # no style sheet, script or link to anywhere else
    # the page records the accuracy the terminal printed
    assert round(parser.accuracy * 100, 2) == demo_run["accuracy_percent"]


def test_report_images_are_real_pictures(demo_run):
    from PIL import Image

    for path in sorted((demo_run["out"] / "img").iterdir()):
        with Image.open(path) as im:
            assert im.width >= 100 and im.height >= 60, path.name
            if path.suffix == ".gif":
                assert im.n_frames > 1, path.name
            colours = im.convert("RGB").resize((64, 64)).getcolors(64 * 64)
            assert colours is None or len(colours) > 3, f"{path.name} is nearly blank"




def test_report_in_headless_chromium(demo_run, artifacts):
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (make test installs it)")
    browser_path = system_chromium()
    if browser_path is None:
        pytest.skip("no system chromium (make test runs scripts/ensure_chromium.sh, which needs apt-get as root)")
    outside = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})

            def route(r):
                if r.request.url.startswith("file://"):
                    r.continue_()
                else:
                    outside.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(demo_run["page"].resolve().as_uri(), wait_until="load")
            page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=30000)
            ids = page.eval_on_selector_all("section", "s => s.map(e => e.id)")
            images = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => [i.getAttribute('src'), i.complete, i.naturalWidth, i.naturalHeight])")
            accuracy = page.text_content("#accuracy")
            page.screenshot(path=str(artifacts / "demo-report.png"), full_page=True)
        finally:
            browser.close()
    assert ids == list(SECTIONS)
    broken = [src for src, complete, w, h in images if not complete or w == 0 or h == 0]
    assert images and not broken, f"images that did not load: {broken}"
    assert outside == [], f"requests that left the machine: {outside}"
    assert accuracy.strip() == f"{demo_run['accuracy_percent']:.2f}%"
    assert (artifacts / "demo-report.png").stat().st_size > 10_000


def test_demo_refuses_an_unwritable_out(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    done = subprocess.run([sys.executable, "-m", "convscope", "demo", "--out", str(blocker / "report")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("convscope demo:") and "is a file" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_demo_refuses_bad_epochs():
    done = subprocess.run([sys.executable, "-m", "convscope", "demo", "--epochs", "0"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "--epochs expects an integer in 1..50" in done.stderr


def test_page_escapes_text_and_refuses_odd_image_names():
    page = Page("t")
    s = page.section("a", "A")
    s.text("<script>alert(1)</script>")
    assert "<script>" not in page.html()
    with pytest.raises(ValueError, match="plain file name"):
        page.add_image(None, "../x.png")
    with pytest.raises(ValueError, match="new section id"):
        page.section("a", "again")

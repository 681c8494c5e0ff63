"""The explorer page in real headless Chromium (Playwright driving Debian's chromium) against
uvicorn on 127.0.0.1: upload, feature maps, probabilities, a clicked cell's dot product equal to
the API's value, the stride playground, the filter views, a drawn digit. Screenshots go to the
artifacts folder (test-artifacts/ by default) for people to look at."""

import re

import httpx
import numpy as np
import pytest

from tests._browser import system_chromium

from .conftest import png_bytes

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (make test installs it)")




@pytest.fixture(scope="module")
def browser():
    path = system_chromium()
    if path is None:
        pytest.skip("no system chromium (make test runs scripts/ensure_chromium.sh, which needs apt-get as root)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def open_page(browser, live_server, *, bypass_csp: bool):
    """The explorer in a fresh context. Playwright's wait_for_function evaluates strings, which the
    page's Content-Security-Policy forbids: the tests that need it bypass the policy, and
    test_the_page_runs_under_its_content_security_policy runs the page under it."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, device_scale_factor=1,
                                  bypass_csp=bypass_csp)
    page = context.new_page()
    page.problems, page.elsewhere = [], []
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith((live_server.url, "data:", "blob:"))
            else page.elsewhere.append(r.url))
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    return context, page


@pytest.fixture
def page(browser, live_server):
    context, page = open_page(browser, live_server, bypass_csp=True)
    yield page
    context.close()


def test_the_page_runs_under_its_content_security_policy(browser, live_server):
    context, page = open_page(browser, live_server, bypass_csp=False)
    try:
        page.wait_for_selector("#probabilities .prob.top")
        canvas = page.locator(".layer[data-layer='0'] .map[data-channel='0'] canvas")
        canvas.click(position={"x": 30, "y": 30})
        page.wait_for_selector("#cell-total")
        for tab, ready in (("arithmetic", "#pg-output"), ("filters", "#flt-kernel table"), ("learned", ".lf-card")):
            page.click(f"button[data-tab='{tab}']")
            page.wait_for_selector(ready)
        assert page.problems == [], page.problems          # a CSP violation is reported as a console error
        assert page.elsewhere == []
    finally:
        context.close()


def idle(page, condition="true"):
    page.wait_for_function(f"document.body.dataset.busy === '0' && ({condition})", timeout=30000)


def number(text: str) -> float:
    return float(text.replace("\u2212", "-"))


def click_cell(page, layer, channel, row, col, height, width):
    canvas = page.locator(f".layer[data-layer='{layer}'] .map[data-channel='{channel}'] canvas")
    box = canvas.bounding_box()
    canvas.click(position={"x": box["width"] * (col + 0.5) / width, "y": box["height"] * (row + 0.5) / height})


def test_upload_maps_probabilities_and_a_cell_equal_to_the_api(page, live_server, tmp_path, artifacts):
    picture = np.full((120, 90), 250, np.uint8)            # a dark "7" on white paper, as a phone would see it
    picture[18:30, 15:75] = 20
    for k in range(70):
        picture[28 + k, max(0, 70 - k // 2 - 6):72 - k // 2] = 20
    path = tmp_path / "seven.png"
    path.write_bytes(png_bytes(picture))

    page.click("button[data-input-tab='upload']")
    fake = tmp_path / "notes.png"
    fake.write_text("not a picture")
    page.set_input_files("#upload-file", str(fake))          # refused: the API's reason, in the page
    page.wait_for_selector("#error:not([hidden])")
    assert "not an image file that Pillow can read" in page.inner_text("#error")
    page.problems.clear()                                    # the browser logs the 422 as a failed load
    page.set_input_files("#upload-file", str(path))
    idle(page, "window.explorer.state.inputLabel === 'seven.png'")
    notes = page.locator("#input-notes li").all_inner_texts()
    assert any("inverted" in n for n in notes) and any("resized from 120x90 to 28x28" in n for n in notes)

    # feature maps of every layer, and the probabilities
    assert page.locator(".layer[data-layer='0'] .map canvas").count() == 6
    assert page.locator(".layer[data-layer='3'] .map canvas").count() == 16
    assert page.locator(".layer .vector canvas").count() == 5
    rows = page.locator("#probabilities .prob")
    probabilities = [float(v) for v in rows.evaluate_all("es => es.map(e => e.dataset.value)")]
    assert len(probabilities) == 10 and sum(probabilities) == pytest.approx(1.0, abs=1e-6)
    page.screenshot(path=str(artifacts / "explorer-upload.png"), full_page=True)

    # click cell (row 4, col 5) of channel 2 of the second conv: the dot product written out
    click_cell(page, "3", 2, 4, 5, 10, 10)
    idle(page, "document.querySelector('#cell-total') !== null")
    state = page.evaluate("({input: window.explorer.state.input, cell: window.explorer.state.cell})")
    assert state["cell"] == {"layer": "3", "channel": 2, "row": 4, "col": 5}
    api = httpx.post(live_server.url + "/api/cell", json={"model": "lenet5", "input": state["input"], "layer": "3",
                                                          "channel": 2, "row": 4, "col": 5}).json()
    shown_value = float(page.get_attribute("#cell-value", "data-value"))
    shown_total = float(page.get_attribute("#cell-total", "data-value"))
    assert shown_value == api["value"] and shown_total == api["total"]
    assert number(page.inner_text("#cell-total")) == pytest.approx(api["value"], rel=1e-5, abs=1e-6)
    forward = httpx.post(live_server.url + "/api/forward", json={"model": "lenet5", "input": state["input"]}).json()
    overview = next(layer for layer in forward["layers"] if layer["name"] == "3")
    shown = number(page.inner_text("#cell-total"))
    assert shown == pytest.approx(overview["values"][2][4][5], abs=overview["limit"] * 1e-4)
    assert "\u2713" in page.inner_text("#cell-body")
    written = page.inner_text("#cell-sum")                   # "Σ channel 0 = (a) + (b) + ... = s"
    assert written.count("(") == 25
    terms = [number(t) for t in re.findall(r"\(([^)]+)\)", written)]
    assert sum(terms) == pytest.approx(number(written.rsplit("=", 1)[1]), rel=1e-2, abs=1e-2)
    assert page.locator("#terms td").count() == 25
    assert page.is_visible("#rf-box")
    assert "receptive field on the input: 14\u00d714 px" in page.inner_text("#rf-caption")
    page.screenshot(path=str(artifacts / "explorer-cell.png"), full_page=True)

    # a ReLU cell leads back to the conv cell it came from
    click_cell(page, "1", 3, 10, 12, 28, 28)
    idle(page, "window.explorer.state.cellResult && window.explorer.state.cellResult.layer === '1'")
    page.click("#cell-source")
    idle(page, "window.explorer.state.cellResult.layer === '0'")
    assert page.evaluate("window.explorer.state.cell") == {"layer": "0", "channel": 3, "row": 10, "col": 12}

    # the window slides: one cell to the right per step, each step the API's numbers
    page.click("#cell-play")
    idle(page, "window.explorer.state.cell.col >= 14")
    page.click("#cell-play")
    assert page.evaluate("window.explorer.state.sliding") is None
    cell = page.evaluate("window.explorer.state.cell")
    assert (cell["layer"], cell["channel"], cell["row"]) == ("0", 3, 10)
    assert float(page.get_attribute("#cell-total", "data-value")) == \
        pytest.approx(float(page.get_attribute("#cell-value", "data-value")), rel=1e-5, abs=1e-6)
    assert page.problems == [] and page.elsewhere == []


def test_stride_in_the_playground_changes_the_output_size_text(page, artifacts):
    page.click("button[data-tab='arithmetic']")
    page.wait_for_function("document.querySelector('#pg-formula').innerText.includes('= 3')")
    assert page.inner_text("#pg-formula").startswith("out = floor((5 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 3")
    page.fill("#pg-stride", "2")
    page.wait_for_function("document.querySelector('#pg-formula').innerText.includes('/ 2) + 1 = 2')")
    assert "output 2\u00d72" in page.inner_text("#pg-output")
    assert "--stride 2" in page.inner_text("#pg-cli")
    page.fill("#pg-padding", "1")
    page.wait_for_function("document.querySelector('#pg-output').innerText === 'output 3\u00d73'")
    page.check("#pg-transposed")
    page.wait_for_function("document.querySelector('#pg-formula').innerText.includes('(5 - 1)*2 - 2*1')")
    page.select_option("#pg-case", "dilation")
    page.wait_for_function("document.querySelector('#pg-formula').innerText.endsWith('= 3\\noutput 3\u00d73')"
                           " || document.querySelector('#pg-output').innerText === 'output 3\u00d73'")
    assert page.input_value("#pg-dilation") == "2" and not page.is_checked("#pg-transposed")
    page.fill("#pg-input", "2")                               # too small for a dilated 3x3: the library's reason
    page.wait_for_selector("#pg-formula.invalid")
    assert "kernel" in page.inner_text("#pg-formula")
    page.fill("#pg-input", "7")
    page.wait_for_function("!document.querySelector('#pg-formula').classList.contains('invalid')")
    page.screenshot(path=str(artifacts / "explorer-arithmetic.png"), full_page=True)
    # the browser logs the refused size (a 422, as designed) as a failed load; nothing else went wrong
    assert [p for p in page.problems if "status of 422" not in p] == [] and page.elsewhere == []


def test_filters_learned_filters_drawing_and_another_model(page, artifacts):
    page.click("button[data-tab='filters']")
    idle(page, "document.querySelector('#flt-describe').innerText.length > 0")
    assert "nearest named kernel: sobel_x" in page.inner_text("#flt-describe")
    page.select_option("#flt-name", "gaussian")
    page.fill("#flt-params", "sigma=1.5")
    idle(page, "document.querySelector('#flt-describe').innerText.includes('gaussian')")
    page.fill("#flt-matrix", "0 1 0\n1 -4 1\n0 1 0")
    idle(page, "document.querySelector('#flt-describe').innerText.includes('laplacian')")
    assert page.input_value("#flt-name") == "custom"
    page.screenshot(path=str(artifacts / "explorer-filters.png"), full_page=True)

    page.click("button[data-tab='learned']")
    idle(page, "document.querySelectorAll('.lf-card').length === 6")
    page.select_option("#lf-layer", "3")
    idle(page, "document.querySelectorAll('.lf-card').length === 16")
    page.screenshot(path=str(artifacts / "explorer-learned.png"), full_page=True)
    page.locator(".lf-card").first.click()                   # a learned filter, applied in the Filters view
    idle(page, "!document.querySelector('[data-view=filters]').hidden")
    assert page.input_value("#flt-name") == "custom"

    page.click("button[data-tab='network']")
    page.click("button[data-input-tab='draw']")
    box = page.locator("#draw").bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 30)
    page.mouse.down()
    for y in range(30, 170, 10):
        page.mouse.move(box["x"] + 100, box["y"] + y)
    page.mouse.up()
    page.click("#draw-use")
    idle(page, "window.explorer.state.inputLabel === 'drawing.png'")
    assert page.inner_text("#prediction").startswith("1 ")
    assert any("framed as MNIST digits are" in n for n in page.locator("#input-notes li").all_inner_texts())
    page.screenshot(path=str(artifacts / "explorer-drawing.png"), full_page=True)

    page.select_option("#model", "small_vgg")
    idle(page, "window.explorer.state.model === 'small_vgg' && window.explorer.state.forward.model === 'small_vgg'")
    assert page.locator(".layer[data-layer='1'] .map canvas").count() == 16          # max_channels of 32
    assert "channels 0\u201315 of 32" in page.inner_text(".layer[data-layer='1']")
    assert page.locator("#probabilities .prob").count() == 10
    click_cell(page, "4", 7, 20, 9, 28, 28)                  # a batch-norm cell of the small VGG
    idle(page, "window.explorer.state.cellResult && window.explorer.state.cellResult.layer === '4'")
    assert "running mean and variance" in page.inner_text("#cell-body") and "\u2713" in page.inner_text("#cell-body")
    page.screenshot(path=str(artifacts / "explorer-small-vgg.png"), full_page=True)
    assert page.problems == [] and page.elsewhere == []

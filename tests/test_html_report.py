"""`--html`: one self-contained page, checked as written and as a real browser renders it.

The browser is headless Chromium (Debian's `chromium`, installed by .ci/run). Name
resolution is mapped to nowhere, so the page must render without any network. Expected
figures are the seed's (RTMDet-s at 640: 14.835G flops, 8.887M parameters) and module names
of MMYOLO's RTMDet.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from complexity.cli.main import run

from helpers import REPO, RTMDET_S, cli, seed_rows

SMALL_CNN = "examples/small_cnn.py"

pytest.importorskip("plotly", reason='--html needs the html extra: pip install -e ".[html]"')


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Chromium is not installed here (apt-get install -y chromium; .ci/run does)")


def browse(page: Path, tmp: Path, *mode: str) -> subprocess.CompletedProcess[bytes]:
    """Open `page` in headless Chromium with no network; `mode` is --dump-dom or --screenshot."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # any network fetch would fail
        f"--user-data-dir={tmp / 'chromium-profile'}",
        "--window-size=1280,1400",
        *mode,
        page.resolve().as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, timeout=120, cwd=tmp)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result


def chart_texts(dom: str) -> list[str]:
    """The labels plotly drew into the chart's SVG (only present once its script ran)."""
    start = dom.find('class="main-svg"')
    assert start >= 0, "no plotly SVG in the DOM: the chart's script did not run"
    return [html.unescape(t) for t in re.findall(r'data-unformatted="([^"]*)"', dom[start:])]


@pytest.fixture(scope="module")
def rtmdet_s_page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("html")
    page = folder / "rtmdet_s.html"
    with pytest.raises(SystemExit) as stop:
        run(["analyze", str(REPO / RTMDET_S), "--html", str(page), "--not-show-table"])
    assert stop.value.code == 0
    return page


def test_html_page_is_self_contained(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    page = tmp_path / "small.html"
    code, out, err = cli(capsys, "analyze", SMALL_CNN, "--html", str(page))
    assert code == 0, err
    assert f"HTML report written to {page}" in out
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img|iframe)[^>]*(src|href)=[\"']?(https?:)?//", text)
    assert "Plotly.newPlot" in text and "window.Plotly" in text  # plotly.js itself, inline
    # fvcore's count at 224: convs 16*112²*27 + 32*56²*144, eval batch norms 2 per element,
    # the pool 1 per input element, the linear layer 32*10
    flops = 16 * 112**2 * 27 + 32 * 56**2 * 144 + 2 * 16 * 112**2 + 2 * 32 * 56**2
    flops += 32 * 56**2 + 32 * 10
    assert f"<dt>Model Flops</dt><dd>{flops / 1e6:.3f}M</dd>" in text
    for fragment in ("fvcore: 1 multiply-add = 1 flop", "[[1, 3, 224, 224]]", "(flatten, relu_)"):
        assert fragment in text
    assert not list(tmp_path.glob(".*tmp"))


def test_html_target_is_checked_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    code, _, err = cli(capsys, "analyze", SMALL_CNN, "--html", str(tmp_path / "no" / "x.html"))
    assert code == 2 and "does not exist; create it first" in err and err.count("\n") == 1
    code, _, err = cli(capsys, "analyze", SMALL_CNN, "--html", str(tmp_path))
    assert code == 2 and "is a folder" in err
    monkeypatch.setitem(sys.modules, "plotly", None)  # as if plotly were not installed
    code, _, err = cli(capsys, "compare", SMALL_CNN, SMALL_CNN, "--html", str(tmp_path / "c.html"))
    assert code == 2 and 'pip install "torch-complexity[html]"' in err


def test_failed_run_keeps_an_existing_page(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("from torch import nn\nmodel = nn.Linear(3, 4)\ninput_shape = (1, 5)\n")
    page = tmp_path / "report.html"
    page.write_text("keep me")
    code, _, _ = cli(capsys, "analyze", str(broken), "--html", str(page))
    assert code == 1
    assert page.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.py", "report.html"]


@pytest.mark.slow
def test_rtmdet_s_page_renders_in_chromium(rtmdet_s_page, tmp_path):
    dom = browse(rtmdet_s_page, tmp_path, "--dump-dom").stdout.decode()
    drawn = chart_texts(dom)
    # The icicle's blocks: the model with the seed's total, and its three parts.
    assert "model (YOLODetector)<br>14.835G" in drawn
    labels = {text.split("<br>")[0] for text in drawn}
    assert {"backbone", "neck", "bbox_head", "head_module", "stage1"} <= labels
    # The tables and facts around it.
    assert "Model Flops</dt><dd>14.835G" in dom and "Model Parameters</dt><dd>8.887M" in dom
    assert "bbox_head.head_module" in dom and "aten::silu_" in dom
    assert "[[1, 3, 640, 640]]" in dom
    assert "traced</dt><dd>traced on meta: shapes and dtypes only" in dom  # --device auto


# Headless Chromium's virtual time does not always advance requestAnimationFrame, so the
# zoom's 750 ms transition could be caught half-way; timers do advance, so frames use them.
FRAMES_ON_TIMERS = (
    "<script>window.requestAnimationFrame = (draw) => "
    "setTimeout(() => draw(performance.now()), 16);</script>"
)
# Run in the page after load: hover the bbox_head block, keep the hover label, then click it.
HOVER_AND_CLICK = """<script>
window.addEventListener('load', () => {
  const chart = document.getElementById('flops-icicle');
  const block = [...chart.querySelectorAll('g.slice')].find(
    (g) => (g.querySelector('text') || {}).textContent?.startsWith('bbox_head'));
  block.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
  document.body.dataset.hovered = chart.querySelector('.hoverlayer').textContent;
  block.dispatchEvent(new MouseEvent('click', {bubbles: true}));
});
</script>"""


@pytest.mark.slow
def test_rtmdet_s_hover_and_click_to_zoom(rtmdet_s_page, tmp_path):
    page = tmp_path / "interact.html"
    text = rtmdet_s_page.read_text().replace("<head>", "<head>" + FRAMES_ON_TIMERS, 1)
    page.write_text(text.replace("</body>", HOVER_AND_CLICK + "</body>"))
    dom = browse(page, tmp_path, "--virtual-time-budget=10000", "--dump-dom").stdout.decode()
    (hovered,) = re.findall(r'data-hovered="([^"]*)"', dom)
    # The seed's row: bbox_head (merged with its only child head_module) 0.625M, 5.053G, 5.006M
    seed = {row[0]: row[1:] for row in seed_rows()}
    params, flops, acts = seed["bbox_head.head_module"]
    share = 100 * 5.053 / 14.835
    assert html.unescape(hovered) == (
        f"bbox_head (RTMDetHead)flops: {flops} ({share:.1f}% of the model)"
        f"params: {params}activations: {acts}"
    )
    # Zoomed in: bbox_head fills the chart, its descendants are drawn, the backbone is gone.
    drawn = {text.split("<br>")[0] for text in chart_texts(dom)}
    assert {"bbox_head", "head_module", "cls_convs", "reg_convs"} <= drawn
    assert "backbone" not in drawn and "neck" not in drawn


@pytest.mark.slow
def test_rtmdet_s_screenshot_is_not_blank(rtmdet_s_page, tmp_path):
    from PIL import Image

    shot = tmp_path / "shot.png"
    browse(rtmdet_s_page, tmp_path, f"--screenshot={shot}")
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 1400)
    data = image.tobytes()
    pixels = [tuple(data[i : i + 3]) for i in range(0, len(data), 3)]
    # Text is black or grey; the icicle's blocks are saturated colour, a third of the page.
    coloured = sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 80)
    assert coloured / len(pixels) > 0.15
    assert len(set(pixels)) > 200


@pytest.mark.slow
def test_compare_page_renders_two_charts(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    (tmp_path / "b.py").write_text(
        "from torch import nn\n"
        "model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 1))\n"
        "input_shape = (1, 3, 32, 32)\n"
    )
    (tmp_path / "a.py").write_text(
        "from torch import nn\n"
        "model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())\n"
        "input_shape = (1, 3, 32, 32)\n"
    )
    page = tmp_path / "compare.html"
    code, _, err = cli(
        capsys, "compare", str(tmp_path / "a.py"), str(tmp_path / "b.py"), "--html", str(page)
    )
    assert code == 0, err
    dom = browse(page, tmp_path, "--dump-dom").stdout.decode()
    assert dom.count('class="main-svg"') >= 2
    # conv 3->8 k3 on 32x32: 8*30*30*27 = 194.4K; the 1x1 conv 8->4: 4*30*30*8 = 28.8K
    drawn = chart_texts(dom)
    assert "model (Sequential)<br>0.194M" in drawn
    assert "model (Sequential)<br>0.223M" in drawn
    assert "(only in B)" in dom


def test_sweep_html_plots_every_point(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    page = tmp_path / "sweep.html"
    code, out, err = cli(capsys, "sweep", SMALL_CNN, "--shapes", "32,64", "--html", str(page))
    assert code == 0, err
    text = page.read_text(encoding="utf-8")
    # params of examples/small_cnn.py: the same at every size
    params = 16 * 3 * 9 + 2 * 16 + 32 * 16 * 9 + 2 * 32 + 32 * 10 + 10
    # fvcore's count at 32x32: conv 16*16²*27 + conv 32*8²*144, eval batch norms 2 per
    # element, the pool 1 per input element, the linear layer 32*10: 0.42M
    flops = 16 * 16**2 * 27 + 32 * 8**2 * 144 + 2 * 16 * 16**2 + 2 * 32 * 8**2 + 32 * 8**2 + 320
    assert f"<td>32x32</td><td>{params / 1e3:.3f}K</td><td>{flops / 1e6:.2f}M</td>" in text
    assert f"<td>64x64</td><td>{params / 1e3:.3f}K</td>" in text
    assert "window.Plotly" in text and f"HTML report written to {page}" in out


@pytest.mark.slow
def test_a_module_named_as_a_link_is_drawn_as_text_not_a_link(tmp_path, capsys):
    # Issue 23 item 11: plotly draws `<a href>` written in a label as a live link.
    model = tmp_path / "named.py"
    model.write_text(
        "import torch\n"
        "model = torch.nn.Sequential()\n"
        "model.add_module(\"<a href='https://evil'>link</a>\", torch.nn.Conv2d(3, 4, 3))\n"
        "input_shape = (1, 3, 8, 8)\n"
    )
    page = tmp_path / "named.html"
    code, _, err = cli(capsys, "analyze", str(model), "--html", str(page))
    assert code == 0, err
    dom = browse(page, tmp_path, "--dump-dom").stdout.decode()
    chart = dom[dom.find('class="main-svg"') :]
    assert re.search(r"<a\b[^>]*href=[\"']https://evil", chart) is None
    assert any("link" in text for text in chart_texts(dom))

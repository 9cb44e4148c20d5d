"""`--html`: one self-contained page, checked as written and as a real browser renders it.

The browser is headless Chromium (Debian's `chromium`, installed by .ci/run). Name
resolution is mapped to nowhere, so the page must render without any network. Expected
figures are the seed's (RTMDet-s at 640: 14.835G flops, 8.887M parameters) and module names
of MMYOLO's RTMDet.
"""

from __future__ import annotations

import html
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from complexity.cli.main import run
from complexity.render import format_size

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
    # module names may wrap after a dot (<wbr>)
    assert "bbox_head.<wbr>head_module" in dom and "aten::silu_" in dom
    assert "[[1, 3, 640, 640]]" in dom
    assert "traced</dt><dd>traced on meta: shapes and dtypes only" in dom  # --device auto
    # the footer's builder: mmyolo's own registry where it is installed, else our zoo
    builder = "mmyolo " if importlib.util.find_spec("mmyolo") else "complexity.zoo "
    assert f"<dt>built by</dt><dd>{builder}" in dom


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


def write_two_models(folder: Path) -> None:
    """a.py: a 3->8 3x3 conv and a relu; b.py: the same and a 1x1 conv 8->4 (32x32 input)."""
    (folder / "b.py").write_text(
        "from torch import nn\n"
        "model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 1))\n"
        "input_shape = (1, 3, 32, 32)\n"
    )
    (folder / "a.py").write_text(
        "from torch import nn\n"
        "model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())\n"
        "input_shape = (1, 3, 32, 32)\n"
    )


@pytest.mark.slow
def test_compare_page_renders_two_charts(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    write_two_models(tmp_path)
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


# ------------------------------------------------- the page carries what the terminal prints


def page_text(page: Path) -> str:
    """The words a reader of the page sees: no scripts (plotly.js, the chart's data), no
    style, no tags, entities decoded."""
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    text = text.replace("<wbr>", "")  # where a name may wrap
    text = html.unescape(re.sub(r"<[^>]+>", " ", text)).replace("\xa0", " ")
    return re.sub(r" +", " ", text)


# A number as printed: 14.835G, 0.625M, 36, +28.8K, 1.24 GiB, 540 µs, 2,048.
NUMBER = re.compile(
    r"(?<![\w.])[+-]?\d[\d,]*(?:\.\d+)?(?:[KMGTP]\b|\s(?:[KMGTP]i)?B\b|\s(?:ms|µs|ns|s)\b)?"
)
# Terminal lines the page deliberately words otherwise, and why.
TERMINAL_ONLY = {
    # The page lists every uncounted operator (as --all-uncounted does), so no "+N more".
    "+N more": re.compile(r"^\(\+\d+ more; --all-uncounted"),
    # Where the page was written: the page does not name its own path.
    "written to": re.compile(r"report written to "),
}


def missing_numbers(terminal: str, page: Path) -> list[str]:
    """Numbers the terminal printed that the page does not show (as whole tokens)."""
    lines = [
        line
        for line in terminal.splitlines()
        if not any(rule.search(line) for rule in TERMINAL_ONLY.values())
    ]
    printed = {match.group() for match in NUMBER.finditer("\n".join(lines))}
    shown = {match.group() for match in NUMBER.finditer(page_text(page))}
    return sorted(printed - shown)


LLAMA = "examples/hf/llama-2-7b/config.json"
# A two-layer Llama small enough to trace in a blink: d 64, MLP 128, 4 heads of 16, V 1000.
TINY_LLAMA = (
    "--model-arg", "num_hidden_layers=2", "--model-arg", "hidden_size=64",
    "--model-arg", "intermediate_size=128", "--model-arg", "num_attention_heads=4",
    "--model-arg", "num_key_value_heads=4", "--model-arg", "vocab_size=1000",
)  # fmt: skip
needs_hf = pytest.mark.skipif(
    importlib.util.find_spec("transformers") is None,
    reason='Hugging Face configs need the hf extra: pip install -e ".[hf]"',
)


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param(
            ["analyze", SMALL_CNN, "--memory", "--device-spec", "A100 80GB",
             "--max-flops", "1M", "--max-params", "1G"], id="memory-roofline-budgets",
        ),
        pytest.param(
            ["analyze", SMALL_CNN, "--convention", "flops", "--train-step", "--depth", "1"],
            id="train-step",
        ),
        pytest.param(
            ["analyze", SMALL_CNN, "--tree", "--show-arch", "--by-operator", "--all-uncounted",
             "--convention", "macs"], id="tree-arch-operators",
        ),
        pytest.param(
            ["analyze", RTMDET_S, "--builder", "zoo", "--memory", "--device-spec", "T4",
             "--by-operator", "--max-flops", "10G"], id="rtmdet-s", marks=pytest.mark.slow,
        ),
        pytest.param(
            ["analyze", LLAMA, "--seq-len", "16", "--train-step", "--memory", *TINY_LLAMA],
            id="hugging-face-train-step", marks=needs_hf,
        ),
        pytest.param(
            ["analyze", LLAMA, "--decode", "--context", "64", "--seq-len", "16",
             "--device-spec", "H200", "--memory", *TINY_LLAMA], id="decode", marks=needs_hf,
        ),
        pytest.param(
            ["compare", "{tmp}/a.py", "{tmp}/b.py", "--memory", "--train-step"], id="compare"
        ),
        pytest.param(
            ["compare", LLAMA, LLAMA, "--decode", "--context", "64", "--seq-len", "16",
             *TINY_LLAMA, "--b-model-arg", "num_key_value_heads=2"], id="compare-decode",
            marks=needs_hf,
        ),
        pytest.param(
            ["sweep", SMALL_CNN, "--shapes", "32,64", "--by-operator", "--train-step"],
            id="sweep",
        ),
    ],
)  # fmt: skip
def test_the_page_shows_every_number_the_terminal_prints(tmp_path, capsys, monkeypatch, arguments):
    monkeypatch.chdir(REPO)
    write_two_models(tmp_path)
    page = tmp_path / "page.html"
    arguments = [argument.format(tmp=tmp_path) for argument in arguments]
    code, out, err = cli(capsys, *arguments, "--html", str(page))
    assert code in (0, 3), err  # 3: a budget exceeded, as asked
    assert out.count("\n") > 10
    assert missing_numbers(out, page) == []


def test_memory_roofline_and_budget_verdicts_are_on_the_page(tmp_path, capsys):
    model = tmp_path / "linear.py"
    model.write_text(
        "from torch import nn\n"
        "model = nn.Sequential(nn.Linear(1000, 1000, bias=False))\n"
        "input_shape = (1, 1000)\n"
    )
    page = tmp_path / "linear.html"
    code, _, err = cli(
        capsys, "analyze", str(model), "--memory", "--device-spec", "flops=1P,bandwidth=1G",
        "--max-flops", "2M", "--max-params", "900K", "--html", str(page),
    )  # fmt: skip
    assert code == 3, err  # 1M parameters > 900K
    raw, text = page.read_text(encoding="utf-8"), page_text(page)
    for header in ("param bytes", "activation bytes", "peak activation", "roofline time", "bound"):
        assert f"<th>{header}</th>" in raw
    # fp32 weights: 10^6 · 4 B = 3.81 MiB. Memory-bound at 1 GB/s: read the input and the
    # weights, write the output, (1000 + 10^6 + 1000) · 4 B / 1e9 B/s = 4.008 ms.
    assert "<td>3.81 MiB</td>" in raw and "<td>4.01 ms</td><td>memory</td>" in raw
    assert "Parameter memory: 3.81 MiB" in text
    # the peak holds the input and the output, 2 · 1000 · 4 B = 7.81 KiB
    assert "Peak activation memory (inference forward): 7.81 KiB" in text
    assert "Roofline time on custom (flops=1P,bandwidth=1G): 4.01 ms, memory-bound" in text
    assert "budget exceeded: params 1M > 0.9M" in text
    assert "within budget: flops 1M ≤ 2M" in text


@needs_hf
def test_hugging_face_facts_are_on_the_page(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    page = tmp_path / "llama.html"
    code, _, err = cli(
        capsys, "analyze", LLAMA, "--seq-len", "16", "--convention", "macs", "--train-step",
        *TINY_LLAMA, "--html", str(page),
    )  # fmt: skip
    assert code == 0, err
    raw, text = page.read_text(encoding="utf-8"), page_text(page)
    # By hand: d 64, MLP 128, L 2, V 1000, T 16. Per layer q, k, v, o 4·d² and gate, up,
    # down 3·d·128, two norms 2·d; the embedding and the untied head V·d each; a final norm.
    layer = 4 * 64 * 64 + 3 * 64 * 128 + 2 * 64
    params = 2 * 1000 * 64 + 2 * layer + 64
    outside_embedding = params - 1000 * 64
    # MACs: every linear once per token, the head too; attention q·kᵀ and p·v, 2·T·T·d a layer.
    macs = 16 * (2 * (4 * 64 * 64 + 3 * 64 * 128) + 64 * 1000) + 2 * 2 * 16 * 16 * 64
    assert macs == 2_400_256
    assert "<dt>Sequence length</dt><dd>16</dd>" in raw
    assert (
        f"<dt>MACs per token</dt><dd>{format_size(macs // 16)} (2 × active params = "
        f"{format_size(2 * params)}; macs: 1 multiply-add = 1)</dd>" in raw
    )
    assert f"<dt>Active parameters per token</dt><dd>{format_size(params)} (all of them)" in raw
    # The training step: backward 2 × forward; 6·N and PaLM's 6·N + 12·L·H·Q·T as
    # multiply-adds (halved), N the parameters outside the input embedding.
    assert f"Train MACs per token: {format_size(3 * macs / 16)}" in text
    assert f"6·N as multiply-adds (flops / 2): {format_size(3 * outside_embedding)}" in text
    palm = (6 * outside_embedding + 12 * 2 * 4 * 16 * 16) // 2
    assert f"6·N + 12·L·H·Q·T as multiply-adds (flops / 2): {format_size(palm)}" in text


def measure_in_chromium(page: Path, tmp: Path, expression: str) -> dict[str, float]:
    """Evaluate `expression` (JavaScript giving an object of numbers) in the loaded page."""
    probe = (
        "<script>window.addEventListener('load', () => { document.body.dataset.measured = "
        f"JSON.stringify({expression}); }});</script>"
    )
    measured = tmp / f"measured-{page.name}"
    measured.write_text(page.read_text(encoding="utf-8").replace("</body>", probe + "</body>"))
    dom = browse(measured, tmp, "--virtual-time-budget=5000", "--dump-dom").stdout.decode()
    (found,) = re.findall(r'data-measured="([^"]*)"', dom)
    import json

    return json.loads(html.unescape(found))


@pytest.mark.slow
def test_a_long_where_list_wraps_and_the_page_never_scrolls_sideways(tmp_path, capsys):
    # 30 modules with long names each run sin, which fvcore does not count: the uncounted
    # table's where-cell names all 30 (about 1,200 characters).
    model = tmp_path / "many.py"
    model.write_text(
        "import torch\n"
        "class Sine(torch.nn.Module):\n"
        "    def forward(self, x):\n"
        "        return torch.sin(x)\n"
        "model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), *(Sine() for _ in range(30)))\n"
        "for i in range(1, 31):\n"
        "    model._modules[f'a_rather_long_module_name_number_{i:02d}'] = "
        "model._modules.pop(str(i))\n"
        "input_shape = (1, 3, 16, 16)\n"
    )
    page = tmp_path / "many.html"
    code, _, err = cli(
        capsys, "analyze", str(model), "--memory", "--device-spec", "A100 80GB",
        "--html", str(page),
    )  # fmt: skip
    assert code == 0, err
    assert "a_rather_long_module_name_number_30 ×1" in page.read_text(encoding="utf-8")
    size = measure_in_chromium(
        page,
        tmp_path,
        "{page: document.documentElement.scrollWidth, window: window.innerWidth,"
        " where: [...document.querySelectorAll('td')].find("
        "   (td) => td.textContent.endsWith('number_30 ×1'))?.offsetHeight ?? 0,"
        " cells: document.querySelectorAll('table.modules th').length}",
    )
    assert size["window"] == 1280
    assert size["page"] <= size["window"]  # nothing wider than the window
    assert size["where"] > 40  # the where-cell wrapped onto several lines
    # module, params, flops, acts, 3 memory columns, roofline time and bound
    assert size["cells"] == 9


@pytest.mark.slow
def test_compare_charts_are_side_by_side(tmp_path, capsys):
    write_two_models(tmp_path)
    page = tmp_path / "compare.html"
    code, _, err = cli(
        capsys, "compare", str(tmp_path / "a.py"), str(tmp_path / "b.py"), "--memory",
        "--train-step", "--html", str(page),
    )  # fmt: skip
    assert code == 0, err
    box = measure_in_chromium(
        page,
        tmp_path,
        "Object.fromEntries(['a', 'b'].flatMap((side) => {"
        " const r = document.getElementById('flops-icicle-' + side).getBoundingClientRect();"
        " return [[side + 'top', r.top], [side + 'left', r.left], [side + 'right', r.right]]; })"
        ".concat([['page', document.documentElement.scrollWidth],"
        " ['window', window.innerWidth]]))",
    )
    # six metrics' tables (--memory, --train-step) wrap below each other: no sideways scroll
    assert box["page"] <= box["window"] == 1280
    assert box["atop"] == box["btop"]  # one row
    assert box["aleft"] < box["aright"] <= box["bleft"] < box["bright"]  # A left, B right
    assert box["aright"] - box["aleft"] > 400 and box["bright"] - box["bleft"] > 400


def test_module_names_are_shown_not_obeyed_in_every_section(tmp_path, capsys):
    link, bold = "<a href='https://evil'>link</a>", "<b>bold</b>"
    model = tmp_path / "named.py"
    model.write_text(
        "import torch\n"
        "class Sums(torch.nn.Module):\n"
        "    def forward(self, x):\n"
        "        return x + x.cumsum(1)\n"
        "model = torch.nn.Sequential()\n"
        f"model.add_module({link!r}, torch.nn.Conv2d(3, 4, 3))\n"
        f"model.add_module({bold!r}, Sums())\n"
        "input_shape = (1, 3, 8, 8)\n"
    )
    page = tmp_path / "named.html"
    code, _, err = cli(
        capsys, "analyze", str(model), "--tree", "--show-arch", "--by-operator", "--memory",
        "--train-step", "--html", str(page),
    )  # fmt: skip
    assert code == 0, err
    text = re.sub(r"<script\b.*?</script>", "", page.read_text(encoding="utf-8"), flags=re.S)
    assert "<a href" not in text and "<b>bold" not in text  # no name became a tag
    # the module table, the tree, the printout and the training table each name the conv
    assert text.count(html.escape(link)) >= 4
    assert f"{html.escape(bold)} ×1" in text  # where the uncounted cumsum ran


@needs_hf
@pytest.mark.slow
def test_a_decode_table_with_every_column_fits_1280_pixels(tmp_path, capsys, monkeypatch):
    # 3 counts, 3 --memory columns, 4 decode byte columns, roofline time and bound: headers
    # wrap at spaces and names after a dot, so the whole table is seen without scrolling.
    monkeypatch.chdir(REPO)
    page = tmp_path / "decode.html"
    code, _, err = cli(
        capsys, "analyze", LLAMA, "--decode", "--context", "64", "--seq-len", "16",
        "--device-spec", "H200", "--memory", "--depth", "2", "--model-arg",
        "num_hidden_layers=2", "--html", str(page),
    )  # fmt: skip
    assert code == 0, err
    size = measure_in_chromium(
        page,
        tmp_path,
        "{page: document.documentElement.scrollWidth, window: window.innerWidth,"
        " table: document.querySelector('table.modules').getBoundingClientRect().right,"
        " headers: document.querySelectorAll('table.modules th').length}",
    )
    assert size["headers"] == 13  # module and the 12 columns above
    assert size["table"] <= size["window"] and size["page"] <= size["window"] == 1280

"""The README and docs/: the model tables come from the cards, every link resolves, the README stays short."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from docs import bench_tables, tables

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
SCREENSHOTS = DOCS / "screenshots"
FRONT_MATTER_KEYS = ("title", "sdk", "sdk_version", "python_version", "app_file")


def _prose(text: str) -> str:
    """The markdown without its fenced code blocks and inline code, where a (...) is no link."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def _links(text: str) -> list[str]:
    """Every markdown link and image target, and every HTML src/href, in the prose."""
    prose = _prose(text)
    targets = re.findall(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", prose)
    targets += re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", prose)
    return targets


def _anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    out = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", re.sub(r"^```.*?^```", "", text, flags=re.S | re.M),
                              flags=re.M):
        out.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    return out


def _readme_tab_slugs() -> list[str]:
    """The app's tabs (playground/app.py's TABS, read without importing gradio) as the browser test names
    their README pictures (`playground.app.slug`): the title in lower case, each run of other characters a hyphen."""
    tree = ast.parse((ROOT / "playground" / "app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "TABS" for t in node.targets):
            return [re.sub(r"[^a-z0-9]+", "-", elt.elts[0].value.lower()).strip("-") for elt in node.value.elts]
    raise AssertionError("playground/app.py has no TABS list")


def test_the_metrics_tables_are_what_the_cards_give_now():
    page = (DOCS / "metrics.md").read_text()
    have, want = tables.extract(page), tables.render()
    stale = [group for group in want if have.get(group) != want[group]]
    assert not stale, (f"docs/metrics.md's generated tables ({', '.join(stale)}) differ from checkpoints/*/card.json: "
                       f"run `{tables.COMMAND}` and commit the result")


def test_every_shipped_checkpoint_has_a_row_in_the_metrics_page():
    page = (DOCS / "metrics.md").read_text()
    generated = "\n".join(tables.extract(page).values())
    names = [c["name"] for c in tables.read_checkpoints()]
    assert names, "no checkpoints/*/card.json found"
    missing = [n for n in names if f"| `{n}` |" not in generated]
    assert not missing, f"no row for {missing} in docs/metrics.md: run `{tables.COMMAND}`"


def test_generated_numbers_come_from_the_card(tmp_path):
    """A card's numbers reach its row (rounded to 4 significant digits), a changed card changes the table,
    and a family the generator has no table for still gets a row, in the "other" block."""
    folder = tmp_path / "dcgan-test"
    folder.mkdir()
    config = {"family": "gan", "config": {"image_size": 32, "loss": "hinge", "lr_g": 2e-4, "beta1": 0.5,
                                          "beta2": 0.999, "n_critic": 1}, "step": 100}
    card = {"steps": 100, "epochs": 0.10667, "batch_size": 64, "wall_time_s": 61.04, "hardware": "CPU test",
            "metrics": {"fid": 12.34567, "kid": 0.1234567, "kid_std": 0.01, "class_entropy": 2.2,
                        "class_entropy_max": 2.3026, "n_generated": 1000},
            "evaluate_command": "python -m trainers evaluate checkpoints/dcgan-test --n 1000 --seed 0"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "card.json").write_text(json.dumps(card))
    odd = tmp_path / "odd-model"
    odd.mkdir()
    (odd / "config.json").write_text(json.dumps({"family": "newfamily", "config": {"image_size": 28}}))
    (odd / "card.json").write_text(json.dumps({"steps": 5, "metrics": {"score": 0.987654}}))
    live = tmp_path / "live-gan-mine"  # a run saved from the app's Train live tab: not a shipped model
    live.mkdir()
    (live / "config.json").write_text(json.dumps(config))
    (live / "card.json").write_text(json.dumps(card))

    blocks = tables.render(tables.read_checkpoints(tmp_path))
    row = next(line for line in blocks["gan"].splitlines() if line.startswith("| `dcgan-test` |"))
    assert "| 12.35 |" in row and "0.1235 ± 0.01" in row and "hinge; Adam 2e-4 (0.5, 0.999)" in row
    assert "100 of 64 (0.1067 epochs)" in row and "61 s, CPU test" in row
    assert card["evaluate_command"] in blocks["gan"]
    assert "| `odd-model` |" in blocks["other"] and "score 0.9877" in blocks["other"]
    assert "live-gan-mine" not in "".join(blocks.values())

    card["metrics"]["fid"] = 9.0
    (folder / "card.json").write_text(json.dumps(card))
    assert tables.render(tables.read_checkpoints(tmp_path))["gan"] != blocks["gan"]


def test_the_generator_rewrites_only_between_its_markers():
    page = (DOCS / "metrics.md").read_text()
    blank = page
    for group in tables.GROUPS:
        begin, end = tables.markers(group)
        blank = re.sub(re.escape(begin) + r".*?" + re.escape(end), f"{begin}\nstale\n{end}", blank, flags=re.S)
    assert blank != page and tables.update(blank, tables.render()) == page


def test_the_benchmark_tables_are_what_the_bench_recorded():
    """docs/benchmarks.md's measured tables come from bench/records/<group>.json, each with its run's date."""
    page = bench_tables.PAGE.read_text()
    records = bench_tables.read_records()
    assert "ui" in records, "bench/records/ui.json is missing: run `python -m bench --only ui`"
    have = tables.extract(page, records, bench_tables.markers, bench_tables.PAGE)
    want = bench_tables.render(records)
    stale = [group for group in want if have[group] != want[group]]
    assert not stale, (f"docs/benchmarks.md's tables for {', '.join(stale)} differ from bench/records: run "
                       f"`{bench_tables.COMMAND}` and commit the result")


def test_a_benchmark_record_reaches_its_table(tmp_path):
    """A run's numbers, date and load reach its block; the ui rows pair the page's protocol with gradio_client's."""
    meta = {"device": "cpu", "machine": "x86_64", "threads": 2, "repeats": 3, "date": "2030-01-02 03:04",
            "quick": True, "load_average": 1.5}
    rows = [{"name": "ui /classify", "unit": "ms", "ours": 101.0, "reference": 3.0, "ratio": 33.7, "p95_ms": 120.0,
             "calls": 5, "reference_is": "bare classifier forward, 1 image; p95 120 ms"},
            {"name": "http /classify", "unit": "ms", "ours": 21.5, "reference": 3.0, "ratio": 7.2, "p95_ms": 30.0,
             "calls": 5, "reference_is": "bare classifier forward, 1 image; p95 30 ms"},
            {"name": "http /gan_walk", "unit": "ms", "ours": 110.0, "reference": 6.0, "ratio": 18.3, "p95_ms": 130.0,
             "calls": 5, "reference_is": "bare G forward, 16 codes; p95 130 ms"},
            {"name": "shown /gan_walk", "unit": "ms", "ours": 62.0, "reference": 6.0, "ratio": 10.3, "p95_ms": 71.0,
             "calls": 5, "reference_is": "bare G forward, 16 codes; p95 71 ms"}]
    (tmp_path / "ui.json").write_text(json.dumps({"meta": meta, "rows": rows}))
    (tmp_path / "gan.json").write_text(json.dumps({"meta": meta, "rows": [
        {"name": "gan.sample", "unit": "ms", "ours": 4.7, "reference": 4.3, "ratio": 1.093, "reference_is": "bare G"}]}))
    blocks = bench_tables.render(bench_tables.read_records(tmp_path))
    assert set(blocks) == {"gan", "ui"}
    assert "2030-01-02 03:04" in blocks["ui"] and "--quick" in blocks["ui"] and "load average 1.5" in blocks["ui"]
    assert "| `/classify` | 21.5 (30) | — | 101 (120) | 3 | classifier forward, 1 image |" in blocks["ui"]
    # a streamed action's result shown before its exports: its own column; no gradio_client row, a dash
    assert "| `/gan_walk` | 110 (130) | 62 (71) | — | 6 | G forward, 16 codes |" in blocks["ui"]
    assert "| gan.sample | ms | 4.7 | 4.3 | 1.09 | bare G |" in blocks["gan"]
    page = "intro\n<!-- bench:ui:begin -->\nold\n<!-- bench:ui:end -->\nmiddle\n<!-- bench:gan:begin -->\n" \
           "<!-- bench:gan:end -->\nend"
    new = tables.update(page, blocks, bench_tables.markers, bench_tables.PAGE)
    assert new.startswith("intro\n") and "\nmiddle\n" in new and new.endswith("\nend") and "old" not in new
    with pytest.raises(ValueError, match="lacks the markers"):  # a record with no place in the page is said
        tables.update("intro", blocks, bench_tables.markers, bench_tables.PAGE)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_image_points_to_a_file_that_exists(page):
    broken = []
    for target in _links(page.read_text()):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        path = (page.parent / path_part).resolve() if path_part else page
        if path.parent == SCREENSHOTS and path.suffix == ".png":
            continue  # written by the browser test (`make screenshots`); test_readme_shows_every_tab covers them
        if not path.exists():
            broken.append(target)
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path.read_text()):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to what does not exist: {broken}"


def test_readme_shows_every_tab():
    slugs = _readme_tab_slugs()
    assert len(slugs) == 11, slugs
    shown = set(re.findall(r"docs/screenshots/([a-z0-9-]+)\.png", README.read_text()))
    assert set(slugs) <= shown, f"the README has no picture of the tabs {sorted(set(slugs) - shown)}"
    assert shown <= set(slugs), f"the README shows pictures of no tab: {sorted(shown - set(slugs))}"


def test_every_docs_page_links_back_to_the_readme():
    for page in DOCS.glob("*.md"):
        assert "](../README.md)" in page.read_text(), f"{page.name} has no link back to the README"
        assert f"](docs/{page.name})" in README.read_text(), f"the README does not link to docs/{page.name}"


def test_readme_is_short_and_starts_with_the_space_front_matter():
    text = README.read_text()
    lines = text.splitlines()
    assert len(lines) < 120, f"the README has {len(lines)} lines: move reference text into docs/"
    assert lines[0] == "---", "the README must start with the Hugging Face Space front matter"
    end = lines.index("---", 1)
    keys = {line.split(":", 1)[0] for line in lines[1:end] if ":" in line}
    assert set(FRONT_MATTER_KEYS) <= keys, f"front matter lacks {set(FRONT_MATTER_KEYS) - keys}"
    assert "app_file: app.py" in lines[1:end] and "sdk: gradio" in lines[1:end]


def test_readme_states_make_test_as_its_test_command_and_ci_runs_it():
    text = README.read_text()
    section = re.search(r"^## Test it\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert section, "the README has no '## Test it' section"
    body = section.group(1)
    first_sentence = re.split(r"(?<=[.:;])\s", body.strip(), maxsplit=1)[0]
    assert "make test" in first_sentence, f"the Test it section should open with its command: {first_sentence!r}"
    block = re.search(r"```bash\n(.*?)```", body, flags=re.S)
    assert block and block.group(1).strip() == "make test"
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith("#")]
    assert ci[-1] == "make test", ".ci/run must run exactly the README's test command"


def test_readme_intro_and_ddpm_card_agree_on_the_h100_steps():
    """The README's sentence on which runs used the lent H100 carries numbers of ddpm-fashion's card."""
    card = json.loads((ROOT / "checkpoints" / "ddpm-fashion" / "card.json").read_text())
    on_gpu = sum(run["steps"] for run in card["history"] if "H100" in run.get("hardware", ""))
    text = " ".join(README.read_text().split())
    assert f"except the last {on_gpu} of `ddpm-fashion`'s {card['steps_total']} steps, which ran on a lent H100" in text

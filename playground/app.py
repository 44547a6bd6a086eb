"""Compose the tabs into one `gr.Blocks`, with safe launch settings."""

from __future__ import annotations

import os
from pathlib import Path

from . import about, classifier, compare, diffusion, gan, lab, vae
from .models import ModelStore

TITLE = "Generative models playground"
QUEUE_MAX_SIZE = 32  # requests waiting beyond this get a "queue full" answer instead of a hang
CONCURRENCY = 2  # per event: this many run at once on 2 cores
MAX_FILE_SIZE = "10mb"

# (tab title, module) in display order; each family issue adds its tab here.
TABS = [
    ("GAN", gan),
    ("VAE", vae),
    ("Diffusion", diffusion),
    ("Compare", compare),
    ("Train live", lab),
    ("Classifier", classifier),
    ("About", about),
]


def create_app(checkpoints: str | Path | None = None, device: str = "cpu"):
    import gradio as gr

    store = ModelStore(checkpoints or Path(__file__).resolve().parents[1] / "checkpoints", device)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(f"# {TITLE}\nModels trained from scratch by this project, running on "
                    f"`{device}`. Every number on the cards was measured by `python -m trainers evaluate`.")
        with gr.Tabs():
            for title, module in TABS:
                with gr.Tab(title, id=title.lower().replace(" ", "-")) as tab:
                    refresh = module.build(store) or []
                if refresh:  # a run saved in the live lab appears in every tab's checkpoint lists
                    listers = [lister for _, lister in refresh]
                    tab.select(lambda listers=listers: [gr.Dropdown(choices=f()) for f in listers], None,
                               [d for d, _ in refresh], api_name=False, show_progress="hidden")
    demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=CONCURRENCY)
    demo.store = store
    return demo


def launch_kwargs(host: str, port: int, share: bool, checkpoints: str | Path) -> dict:
    """Launch settings: upload limit, no extra allowed paths, checkpoints and dotfiles blocked."""
    root = Path(checkpoints).resolve()
    return dict(
        server_name=host,
        server_port=port,
        share=share,
        max_file_size=MAX_FILE_SIZE,
        show_error=False,  # gr.Error messages are shown; other exceptions' internals are not
        allowed_paths=[],
        blocked_paths=[str(root), str(Path(".env").resolve()), str(Path(".git").resolve())],
        ssr_mode=False,
        footer_links=["api"],
        max_threads=8,
        quiet=bool(os.environ.get("PLAYGROUND_QUIET")),
    )

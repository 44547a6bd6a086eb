"""Launch the playground: `python app.py [--host 127.0.0.1] [--port 7860] [--share]
[--checkpoints checkpoints] [--device cpu] [--auth USER:PASS]`. Runs offline on CPU from the shipped checkpoints;
on a Hugging Face Space it binds 0.0.0.0 as Spaces expect."""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# One OpenMP thread per handler thread, read when torch loads. Gradio runs every handler in a worker thread, and
# torch's OpenMP regions started from a thread other than the main one cost 40-90 us each on 2 cores (an add of
# 32k floats: 6 us on the main thread, 42-78 in a worker), so a 50-step DDIM run took 1.15 s in a worker thread
# with 2 threads against 0.58 s on the main thread, and 0.72 s with 1 (`python -m bench --only threads` measures
# the app both ways). Set OMP_NUM_THREADS to choose otherwise.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> int:
    in_space = bool(os.environ.get("SPACE_ID"))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0" if in_space else "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    p.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    p.add_argument("--checkpoints", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "checkpoints"))
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--public", action=argparse.BooleanOptionalAction, default=None,
                   help="a public deployment: nothing writes into --checkpoints (default: on with --share and on a "
                        "Space, off otherwise)")
    p.add_argument("--auth", default=os.environ.get("PLAYGROUND_AUTH"), metavar="USER:PASS",
                   help="ask for this login (Gradio's auth) before the page, the API and the files; on a Space, set "
                        "the secret PLAYGROUND_AUTH instead")
    args = p.parse_args(argv)
    auth = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not (sep and user and password):
            p.error("--auth takes USER:PASS, both non-empty")
        auth = (user, password)
    if args.device not in ("cpu", "cuda") and not args.device.startswith("cuda:"):
        p.error(f"--device must be cpu or cuda, got {args.device!r}")
    if not os.path.isdir(args.checkpoints):
        p.error(f"--checkpoints {args.checkpoints} is not a folder")
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            p.error("--device cuda: no CUDA device is available")

    if "GRADIO_TEMP_DIR" not in os.environ:  # Gradio reads it when imported: this app's cache, apart from others'
        import tempfile
        from pathlib import Path

        from playground.exports import own_folder

        os.environ["GRADIO_TEMP_DIR"] = str(own_folder(Path(tempfile.gettempdir()) / "playground-gradio"))
    from playground.app import create_app, launch_kwargs, warm

    public = args.public if args.public is not None else bool(args.share or in_space)
    demo = create_app(args.checkpoints, args.device, public=public)
    # the server first, then diffusers' import and each tab's first result in the background: started before
    # the server, they held the GIL while it came up (the page answered after ~27 s on a busy machine)
    demo.launch(**launch_kwargs(args.host, args.port, args.share, args.checkpoints, public), auth=auth,
                prevent_thread_lock=True)
    warm(demo)
    demo.block_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())

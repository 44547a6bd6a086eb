"""Deploy this repository to a Hugging Face Space: `python scripts/deploy_space.py OWNER/NAME [--private]`.

It uploads exactly the files git tracks, through `huggingface_hub`'s upload API, which stores the binary
ones (weights, PNGs, GIFs) with LFS/Xet as the Hub requires; a plain `git push` of this repository is refused
unless git-lfs is installed (`.gitattributes` lists the rules). The README's front matter configures the
Space (Gradio SDK, `app.py`). Needs a token with write access: `huggingface-cli login` or `HF_TOKEN`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tracked_files(root: Path = ROOT) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=root, check=True, capture_output=True).stdout
    return sorted(p for p in out.decode().split("\0") if p)


def deploy(repo_id: str, private: bool = False, api=None, root: Path = ROOT) -> str:
    """Create the Space if it is missing and upload the tracked files in one commit; returns its URL."""
    from huggingface_hub import HfApi

    api = api or HfApi()
    api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
    api.upload_folder(folder_path=str(root), repo_id=repo_id, repo_type="space", allow_patterns=tracked_files(root),
                      commit_message="Deploy the playground")
    return f"https://huggingface.co/spaces/{repo_id}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("repo_id", help="OWNER/NAME of the Space")
    p.add_argument("--private", action="store_true")
    args = p.parse_args(argv)
    if args.repo_id.count("/") != 1:
        p.error("the Space is OWNER/NAME")
    try:
        print(deploy(args.repo_id, args.private))
    except Exception as e:  # no network, no token, no permission: one line, not a traceback
        print(f"deploy failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

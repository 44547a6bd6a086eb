"""The repository deploys to a Hugging Face Space: every binary under an LFS rule, one upload command."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import deploy_space  # noqa: E402


def _is_binary(path: Path) -> bool:
    """git's own test: a NUL byte in the first 8000 bytes."""
    with open(path, "rb") as f:
        return b"\0" in f.read(8000)


def test_every_tracked_binary_file_matches_an_lfs_rule():
    files = deploy_space.tracked_files(ROOT)
    binaries = [f for f in files if (ROOT / f).is_file() and _is_binary(ROOT / f)]
    assert any(f.endswith(".safetensors") for f in binaries) and any(f.endswith(".png") for f in binaries)
    out = subprocess.run(["git", "check-attr", "filter", "--stdin"], cwd=ROOT, input="\n".join(binaries),
                         capture_output=True, text=True, check=True).stdout
    missing = [line.split(": filter:")[0] for line in out.splitlines() if not line.endswith(": filter: lfs")]
    assert not missing, f"binary files without an LFS rule in .gitattributes: {missing[:10]}"


def test_deploy_uploads_exactly_the_tracked_files_to_a_gradio_space(tmp_path):
    calls = []

    class FakeApi:  # the Hub's API as called, recorded: no network
        def create_repo(self, repo_id, **kw):
            calls.append(("create_repo", repo_id, kw))

        def upload_folder(self, **kw):
            calls.append(("upload_folder", kw["repo_id"], kw))

    url = deploy_space.deploy("someone/playground", api=FakeApi())
    assert url == "https://huggingface.co/spaces/someone/playground"
    (_, _, create), (_, _, upload) = calls
    assert create["repo_type"] == "space" and create["space_sdk"] == "gradio" and create["exist_ok"]
    assert upload["repo_type"] == "space" and Path(upload["folder_path"]) == ROOT
    assert upload["allow_patterns"] == deploy_space.tracked_files(ROOT)
    assert "app.py" in upload["allow_patterns"] and not any(p.startswith(".venv") for p in upload["allow_patterns"])


def test_deploy_without_a_network_fails_with_one_line(monkeypatch, capsys):
    def refuse(*a, **k):
        raise OSError("no network")

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", refuse)
    assert deploy_space.main(["someone/playground"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("deploy failed: OSError: no network") and "Traceback" not in err

"""Training faults (issue 9, promise 7): a tiny trainer killed with SIGKILL at random moments, and during
checkpoint writes, always resumes from a complete checkpoint and ends bitwise equal to an uninterrupted run.

The runs are forked from one helper process that imported the trainers once and never ran a torch operation
(so forking is safe and each run starts in milliseconds instead of re-importing torch 40 times)."""

import csv
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import torch

from trainers.core import checkpoint as ck

SERVER = textwrap.dedent(r'''
    import json, os, sys, time, traceback
    import torch
    import torch._dynamo  # imported lazily by the first optimiser otherwise: seconds in every run
    import accelerate, torchvision
    torch.set_num_threads(1)
    from trainers.core import checkpoint as ck
    from trainers import fit

    def stall_in_write(target, nth, marker):
        """The nth fsync of a temporary file for `target`: cut the file to half (a write in progress), say so
        through `marker`, and wait there for the kill."""
        real, seen = os.fsync, {"n": 0}
        def fsync(fd):
            name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
            if name.startswith(f".{target}.") and name.endswith(".tmp"):
                seen["n"] += 1
                if seen["n"] == nth:
                    os.ftruncate(fd, os.fstat(fd).st_size // 2)
                    open(marker, "w").close()
                    time.sleep(600)
            return real(fd)
        os.fsync = fsync

    for line in sys.stdin:
        req = json.loads(line)
        if "wait" in req:
            _, status = os.waitpid(req["wait"], 0)
            print(json.dumps({"status": status}), flush=True)
            continue
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                sys.stdin.close()
                out = open(req["log"], "w")
                os.dup2(out.fileno(), 1); os.dup2(out.fileno(), 2)
                if req.get("stall"):
                    stall_in_write(**req["stall"])
                fit("gan", req["options"])
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush(); sys.stderr.flush()
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
''')

STEPS = 160
OPTIONS = {"ngf": "8", "ndf": "8", "z_dim": "16", "batch_size": "16", "device": "cpu", "monitor_n": "0",
           "ckpt_every": "2", "sample_every": "1000", "log_every": "1", "steps": str(STEPS)}


class Forker:
    def __init__(self, tmp: Path):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env, cwd=tmp)
        self.tmp, self.n = tmp, 0

    def _ask(self, req: dict) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the fork server died"
        return json.loads(line)

    def start(self, options: dict, stall: dict | None = None) -> int:
        self.n += 1
        return self._ask({"options": options, "stall": stall, "log": str(self.tmp / f"run-{self.n}.log")})["pid"]

    def wait(self, pid: int) -> int:
        return self._ask({"wait": pid})["status"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _alive(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as f:  # a zombie (finished, not yet reaped) is not running
        return f.read().split(")")[-1].split()[0] != "Z"


def _check_complete(out: Path) -> int | None:
    """What a resume would start from: the resume state (atomic, so complete or absent) and the exported model."""
    if not (out / ck.STATE).exists():
        return None
    state = ck.load_train_state(out)
    assert state["step"] % 2 == 0 and state["step"] > 0
    model = ck.load_model(out)  # complete too (it may be one checkpoint ahead of the resume state), never torn
    assert model.step in (state["step"], state["step"] + 2)
    return state["step"]


def test_twenty_sigkills_all_resume_and_end_bitwise_equal(tmp_path, tiny_fashion):
    forker = Forker(tmp_path)
    try:
        base = {**OPTIONS, "data_dir": str(tiny_fashion)}
        ref = forker.start({**base, "out": str(tmp_path / "ref")})
        t0 = time.monotonic()
        assert forker.wait(ref) == 0, (tmp_path / "run-1.log").read_text()[-2000:]
        run_seconds = time.monotonic() - t0

        out = tmp_path / "killed"
        rng = random.Random(7)
        # 20 kills: 8 inside checkpoint writes (4 in the resume state, 4 in the exported weights), 12 at random
        plan = ["write:train_state.pt", "random", "write:model.safetensors", "random", "random"] * 2 + \
               ["write:train_state.pt", "random", "write:model.safetensors", "random"] + \
               ["random", "write:train_state.pt", "random", "random", "write:model.safetensors", "random"]
        assert len(plan) == 20 and sum(p.startswith("write") for p in plan) == 8
        kills, in_write, resumed_from, leftovers = 0, 0, [], 0
        for kind in plan:
            start_step = _check_complete(out)
            resumed_from.append(start_step)
            opts = {**base, "out": str(out), **({"resume": "true"} if start_step is not None else {})}
            marker = tmp_path / f"stalled-{kills}"
            stall = {"target": kind.split(":")[1], "nth": rng.randint(1, 3), "marker": str(marker)} \
                if kind.startswith("write") else None
            pid = forker.start(opts, stall)
            if stall:
                deadline = time.monotonic() + 120
                while not marker.exists():
                    assert time.monotonic() < deadline and _alive(pid), "the run never reached the write"
                    time.sleep(0.01)
                in_write += 1
            else:
                # somewhere in the next ~15% of the work left (so twenty kills never run out of work to cut)
                left = (STEPS - (start_step or 0)) / STEPS
                time.sleep(0.2 + rng.uniform(0.0, 0.3) * left * run_seconds)
            assert _alive(pid), "the run finished before it could be killed (make the run longer)"
            os.kill(pid, signal.SIGKILL)
            assert os.WTERMSIG(forker.wait(pid)) == signal.SIGKILL
            kills += 1
            leftovers += len(list(out.glob(".*.tmp")))
        assert kills == 20 and in_write == 8
        assert leftovers >= 8  # each write-kill left its torn temporary file behind ...
        assert sum(s is not None for s in resumed_from) >= 15  # most restarts resumed (the first had nothing)
        assert any(b is not None and a is not None and b > a for a, b in zip(resumed_from, resumed_from[1:]))

        last = forker.start({**base, "out": str(out), "resume": "true"})
        assert forker.wait(last) == 0, (tmp_path / f"run-{forker.n}.log").read_text()[-2000:]
        assert not list(out.glob(".*.tmp"))  # ... and the resume cleared them
    finally:
        forker.close()

    a, b = ck.load_train_state(tmp_path / "ref"), ck.load_train_state(out)
    assert a["step"] == b["step"] == STEPS
    for module in ("G", "D", "G_ema"):
        for k, v in a["modules"][module].items():
            assert torch.equal(v, b["modules"][module][k]), f"{module}.{k} differs from the uninterrupted run"
    rows = list(csv.DictReader(open(out / "log.csv")))
    assert [int(r["step"]) for r in rows] == list(range(1, STEPS + 1))
    ref_rows = list(csv.DictReader(open(tmp_path / "ref" / "log.csv")))
    assert [r["loss_d"] for r in rows] == [r["loss_d"] for r in ref_rows]
    assert ck.load_model(out).step == STEPS

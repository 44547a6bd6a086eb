"""The one training loop, shared by every family, on `accelerate`.

`python -m trainers train <family> --key=value ...` and `accelerate launch -m trainers train ...`
both end here. The loop owns data order, logging, fixed-noise snapshots, checkpoints, resume,
the NaN guard and the time budget; the family owns its config, its networks and `train_step`.

Exact resume: the data order is a pure function of (seed, epoch) and the step inside the epoch,
and the resume state holds fp32 weights, optimizer states and every RNG the step draws from, so a
run stopped and resumed reaches bitwise the same weights as an uninterrupted one (on CPU).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Iterator

import torch
from torch.utils.data import DataLoader, Sampler

from .checkpoint import (
    CARD, SAMPLES, atomic_write_bytes, clean_partial_writes, load_model, load_train_state, read_card, save_model, save_train_state, update_card,
)
from .config import build_config, config_to_dict, field_types
from .family import ChecksResume, HasDataset, InitsFrom, Monitors, Previews
from .data import load_dataset
from .errors import TrainingDiverged, UserError
from .images import grid, save_png


@dataclasses.dataclass(frozen=True)
class LoopConfig:
    """Options of the loop itself (the family's Config holds the model and optimiser options)."""

    out: str = ""  # checkpoint folder; default runs/<family>
    steps: int = 0  # total optimisation steps; 0 means `epochs` epochs
    epochs: float = 1.0
    batch_size: int = 64
    seed: int = 0
    log_every: int = 50  # CSV log and progress-bar refresh
    sample_every: int = 500  # fixed-noise snapshot into snapshots/
    ckpt_every: int = 500
    max_minutes: float = 0.0  # stop (with a checkpoint) after this much training time; 0 = no limit
    resume: bool = False
    init_from: str = ""  # start a new run from this checkpoint's weights (fresh optimiser; the card keeps the lineage)
    device: str = "auto"  # auto | cpu | cuda
    fp16_weights: bool = True  # model.safetensors in fp16 (the resume state stays fp32)
    num_workers: int = 0
    monitor_n: int = 1000  # samples scored (class entropy, FID) at each snapshot; 0 turns it off
    stop_file: str = ""  # when this file appears, stop with a checkpoint (how the app's live lab stops a run)
    # >= 0: every optimiser's learning rate stays as the family set it up to this step, then falls linearly to 0 at
    # the run's total (CycleGAN's schedule: constant, then linear decay to zero; Zhu et al. 2017, sec. 4 and
    # appendix 7.1). 0 decays over the whole run, as a cool-down from --init_from weights. -1: off
    lr_decay_after: int = -1

    def validate(self) -> None:
        for k in ("batch_size", "log_every", "sample_every", "ckpt_every"):
            if getattr(self, k) < 1:
                raise UserError(f"--{k} must be >= 1, got {getattr(self, k)}")
        if self.steps < 0 or self.epochs <= 0 or self.max_minutes < 0:
            raise UserError("--steps must be >= 0, --epochs > 0 and --max_minutes >= 0")
        if self.lr_decay_after < -1:
            raise UserError(f"--lr_decay_after must be a step >= 0, or -1 (no decay), got {self.lr_decay_after}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise UserError(f"--device must be auto, cpu or cuda, got {self.device!r}")


class EpochSampler(Sampler[int]):
    """A permutation of the dataset drawn from (seed, epoch) alone, so any step can be replayed."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self) -> int:
        return self.n


def split_options(family_cfg_cls, options: dict[str, str]) -> tuple[dict, dict]:
    """Route `--key=value` options to LoopConfig or the family's Config; unknown keys are an error."""
    loop_keys, fam_keys = set(field_types(LoopConfig)), set(field_types(family_cfg_cls))
    loop_opts, fam_opts, unknown = {}, {}, []
    for k, v in options.items():
        if k in loop_keys:
            loop_opts[k] = v
        elif k in fam_keys:
            fam_opts[k] = v
        else:
            unknown.append(k)
    if unknown:
        raise UserError(
            f"unknown option(s) {', '.join('--' + k for k in unknown)}. Loop options: "
            f"{', '.join('--' + k for k in sorted(loop_keys))}. {family_cfg_cls.__module__.split('.')[1]} options: "
            f"{', '.join('--' + k for k in sorted(fam_keys))}"
        )
    return loop_opts, fam_opts


def hardware() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()}x {torch.cuda.get_device_name(0)}"
    return f"CPU {platform.machine()}, {os.cpu_count()} cores (torch threads {torch.get_num_threads()})"


def _rng_state(gen: torch.Generator) -> dict:
    return {"torch": torch.get_rng_state(), "gen": gen.get_state()}


def _set_rng_state(state: dict, gen: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    gen.set_state(state["gen"])


class _CsvLog:
    """Append-only CSV of logged losses; on resume, rows past the resumed step are dropped."""

    def __init__(self, path: Path, resume_step: int | None):
        self.path, self.fields = path, None
        if resume_step is not None and path.exists():
            with open(path, newline="") as f:  # a row cut short by a kill has empty fields: dropped
                rows = [r for r in csv.DictReader(f)
                        if None not in r.values() and r["step"].isdigit() and int(r["step"]) <= resume_step]
            if rows:
                self.fields = list(rows[0].keys())
            # replaced whole: rewritten in place, a kill between the truncation and the write lost every row
            # before the resumed step (a log that began at step 85)
            text = io.StringIO(newline="")
            if self.fields:
                w = csv.DictWriter(text, self.fields)
                w.writeheader()
                w.writerows(rows)
            atomic_write_bytes(path, text.getvalue().encode())
        elif path.exists():
            path.unlink()

    def write(self, row: dict) -> None:
        new = not self.path.exists() or self.fields is None
        if self.fields is None:
            self.fields = list(row.keys())
        with open(self.path, "a", newline="") as f:
            w = csv.DictWriter(f, self.fields, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)


def init_weights(modules: dict[str, torch.nn.Module], parent, fam=None, cfg=None) -> dict:
    """Copy a finished checkpoint's weights into freshly built modules (`--init_from`) and return its lineage.

    Every trained module (and EMA twin) is loaded strictly from the checkpoint; frozen parts built from the
    config's paths (a latent model's --vae, --clip) stay as built. A trained module the checkpoint kept only as its EMA
    twin (`unet` when only `unet_ema` was exported, as in a diffusers pipeline) starts from that EMA, and an EMA
    module the checkpoint lacks starts from its trained twin. Weights saved in fp16 come back as fp32.
    A checkpoint of another family goes to the family's `init_from` hook (`core.family.InitsFrom`) instead."""
    sources = fam.init_from(cfg, modules, parent) if fam is not None else _strict_sources(modules, parent)
    prev = parent.card
    return {"checkpoint": str(parent.path), "family": parent.family, "step": parent.step, "modules": sources,
            "command": prev.get("command"), "steps_total": int(prev.get("steps_total", parent.step)),
            "wall_time_total_s": float(prev.get("wall_time_total_s", prev.get("wall_time_s", 0.0)))}


def _strict_sources(modules: dict[str, torch.nn.Module], parent) -> dict[str, str]:
    loaded = parent.modules
    sources = {}
    for name in modules:
        if not name.endswith("_ema") and not any(p.requires_grad for p in modules[name].parameters()):
            # a frozen part the family built from the config's own paths (--vae, --clip): it stays as built, so
            # a run can continue the trained parts over a new autoencoder (the parent's would have replaced it)
            sources[name] = "config"
            continue
        twin = name[:-4] if name.endswith("_ema") else name + "_ema"
        src = name if name in loaded else twin if twin in loaded else None
        if src is None:
            raise UserError(f"--init_from={parent.path} has no weights for {name!r} (it holds {sorted(loaded)})")
        try:
            modules[name].load_state_dict(loaded[src].state_dict(), strict=True)
        except RuntimeError as e:
            raise UserError(f"--init_from={parent.path}: {name!r} does not fit this config "
                            f"({str(e).splitlines()[0][:160]})") from None
        sources[name] = src
    return sources


def fit(fam, family_name: str, options: dict[str, str], command: str | None = None) -> Path:
    """Train the family module `fam` (`family_name` is its name on the command line and in the checkpoint's
    files) with `--key=value` options; returns the checkpoint folder. `trainers.fit` takes the name alone.

    The run, in order: the config (fresh, `--resume` or `--init_from`), the modules, optimisers and data on
    `accelerate`, then one `train_step` per batch until the total, the time budget or the stop file, with the
    log, snapshots and checkpoints on their cadence (`_Run`)."""
    loop_opts, fam_opts = split_options(fam.Config, options)
    loop = build_config(LoopConfig, loop_opts)
    out = Path(loop.out or f"runs/{family_name}")
    command = command or "python -m trainers train " + " ".join(
        [family_name] + [f"--{k}={shlex.quote(str(v))}" for k, v in options.items()])
    cfg, loop, state, parent = _start(fam, family_name, loop, loop_opts, fam_opts, out)
    run = _Run(family_name, fam, cfg, loop, out, state, parent)
    run.commands.append(command)
    reason = run.train()
    run.finish(reason)
    return out


def _start(fam, family_name: str, loop: LoopConfig, loop_opts: dict, fam_opts: dict, out: Path):
    """(family config, loop config, resume state or None, --init_from checkpoint or None). A resumed run keeps
    its config, batch size and seed: changing them is refused, since the run would no longer be the same."""
    if loop.resume:
        state = load_train_state(out)
        if state.get("family") != family_name:
            raise UserError(f"{out} holds a {state.get('family')!r} run, not {family_name!r}")
        saved = state["config"]
        changed = {k: v for k, v in config_to_dict(build_config(fam.Config, {**saved, **fam_opts})).items()
                   if saved.get(k) != v}
        for k in ("batch_size", "seed"):
            if k in loop_opts and str(getattr(loop, k)) != str(state["loop"][k]):
                changed[k] = getattr(loop, k)
        if changed:
            raise UserError(
                f"cannot change {', '.join('--' + k for k in changed)} when resuming {out} "
                "(resume continues the same run; start a new --out to change them)")
        started = (read_card(out).get("init_from") or {}).get("checkpoint")
        if loop.init_from and (not started or Path(started).resolve() != Path(loop.init_from).resolve()):
            # "the same command plus --resume" works when the run began --init_from this very checkpoint
            raise UserError(f"--resume continues {out}, which " + (f"started from {started}" if started else
                            "started from scratch") + f", not --init_from={loop.init_from}: drop --init_from, "
                            "or start a new --out")
        cfg = build_config(fam.Config, saved)
        if isinstance(fam, ChecksResume):
            fam.check_resume(cfg, out)
        loop = dataclasses.replace(loop, batch_size=state["loop"]["batch_size"], seed=state["loop"]["seed"])
        return cfg, loop, state, None
    if loop.init_from:
        parent = load_model(loop.init_from)
        if parent.family != family_name:
            if not isinstance(fam, InitsFrom):
                raise UserError(f"--init_from={loop.init_from} holds a {parent.family!r} model, not {family_name!r}")
            return build_config(fam.Config, fam_opts), loop, None, parent  # its config is another family's
        return build_config(fam.Config, {**config_to_dict(parent.cfg), **fam_opts}), loop, None, parent
    return build_config(fam.Config, fam_opts), loop, None, None


class _Run:
    """One training run's state: the prepared modules, optimisers and data, the step counter, the logs, and
    the three things done on a cadence (`log`, `snapshot`, `checkpoint`)."""

    def __init__(self, family_name: str, fam, cfg, loop: LoopConfig, out: Path, state: dict | None, parent):
        from accelerate import Accelerator

        self.family_name, self.fam, self.cfg, self.loop, self.out = family_name, fam, cfg, loop, out
        cpu = loop.device == "cpu" or (loop.device == "auto" and not torch.cuda.is_available())
        if loop.device == "cuda" and not torch.cuda.is_available():
            raise UserError("--device=cuda but no CUDA device is available; use --device=cpu")
        acc = self.acc = Accelerator(cpu=cpu)
        self.main = acc.is_main_process

        torch.manual_seed(loop.seed)
        modules = fam.build(cfg)
        # where the weights came from: the --init_from checkpoint, or (resumed) what the run's card recorded
        self.lineage = init_weights(modules, parent, fam if parent.family != family_name else None, cfg) \
            if parent is not None else \
            read_card(out).get("init_from") if state is not None else None
        opts = fam.optimizers(cfg, modules)
        # the rates the family set, before a resumed state's (decayed) ones replace them: --lr_decay_after's base
        self.base_lrs = {n: [g["lr"] for g in o.param_groups] for n, o in opts.items()}
        dataset = fam.dataset(cfg, "train") if isinstance(fam, HasDataset) else load_dataset(
            cfg.dataset, data_dir=cfg.data_dir, split="train", image_size=cfg.image_size, channels=cfg.channels)
        self.sampler = EpochSampler(len(dataset), loop.seed)
        dl = DataLoader(dataset, batch_size=loop.batch_size, sampler=self.sampler, drop_last=True,
                        num_workers=loop.num_workers)
        if len(dl) == 0:
            raise UserError(f"the dataset has {len(dataset)} images, fewer than --batch_size={loop.batch_size}")
        for m in modules.values():
            m.to(acc.device)
        trained = list(opts)
        prepared = acc.prepare(*[modules[n] for n in trained], *[opts[n] for n in trained], dl)
        for i, n in enumerate(trained):
            modules[n], opts[n] = prepared[i], prepared[len(trained) + i]
        self.modules, self.opts, self.dl = modules, opts, prepared[-1]
        self.plain = {n: acc.unwrap_model(m) for n, m in modules.items()}
        self.steps_per_epoch = len(self.dl)
        self.total = loop.steps or math.ceil(loop.epochs * self.steps_per_epoch)
        self.data_info = {"dataset": cfg.dataset, "data_dir": cfg.data_dir, "source": getattr(dataset, "source", None),
                          "n_train": len(dataset), "image_size": cfg.image_size, "channels": cfg.channels}

        self.gen = torch.Generator(acc.device).manual_seed(loop.seed + 1000 * acc.process_index)
        self.step, self.wall, self.commands = 0, 0.0, []
        if state is not None:
            for n, m in modules.items():
                acc.unwrap_model(m).load_state_dict(state["modules"][n])
            for n, o in opts.items():
                o.load_state_dict(state["optimizers"][n])
            _set_rng_state(state["rng"], self.gen)
            self.step, self.wall, self.commands = state["step"], state["wall_time_s"], state.get("commands", [])
            if self.step >= self.total:
                raise UserError(f"{out} is already at step {self.step} >= --steps/--epochs total {self.total}; "
                                "raise it to continue")
        resumed = self.step if state is not None else None
        if self.main:
            out.mkdir(parents=True, exist_ok=True)
            clean_partial_writes(out)  # temporary files of a write that a kill interrupted
        self.log_csv = _CsvLog(out / "log.csv", resumed) if self.main else None
        self.monitor_csv = _CsvLog(out / "metrics.csv", resumed) if self.main else None
        self.last_ckpt = resumed
        self.last_losses: dict[str, float] = {}
        self.monitored: dict[str, float] = {}
        self.sums: dict[str, float] = {}
        self.n_sum = 0
        self.t0 = time.monotonic()
        self.pbar = None

    def batches(self) -> Iterator[dict]:
        """The batches from the current step on, epoch after epoch, in the order a fresh run would see them."""
        while True:
            epoch, skip = divmod(self.step, self.steps_per_epoch)
            batches = self.acc.skip_first_batches(self.dl, skip) if skip else self.dl
            # accelerate's loaders re-seed the sampler with their own epoch counter on every pass,
            # so the epoch is set on the loader (a fresh skipping loader starts its counter at 0)
            for loader in {id(self.dl): self.dl, id(batches): batches}.values():
                loader.set_epoch(epoch)
            self.sampler.set_epoch(epoch)
            yield from batches

    def train(self) -> str | None:
        """Step until the total; returns why it stopped early (None when it reached the total)."""
        from tqdm.auto import tqdm

        self.t0 = time.monotonic()
        self.pbar = tqdm(total=self.total, initial=self.step, disable=not self.main, desc=self.family_name,
                         dynamic_ncols=True, mininterval=0.5 if sys.stderr.isatty() else 30)
        try:
            for batch in self.batches():
                for m in self.modules.values():
                    m.train()
                self.decay_lr()
                losses = self.fam.train_step(self.cfg, self.modules, self.opts, batch, self.gen, self.acc)
                self.step += 1
                self.log({k: float(v) for k, v in losses.items()})
                self.pbar.update(1)
                if self.main and (self.step % self.loop.sample_every == 0 or self.step == self.total):
                    self.snapshot()
                reason = self.stop_requested()
                if self.step % self.loop.ckpt_every == 0 or self.step == self.total or reason:
                    self.checkpoint()
                if self.step >= self.total:
                    return None
                if reason:
                    return reason
        finally:
            self.pbar.close()

    def log(self, values: dict[str, float]) -> None:
        """The NaN guard, then the losses averaged since the last row, every `log_every` steps."""
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            kept = f"the last good checkpoint (step {self.last_ckpt}) is kept in {self.out}" \
                if self.last_ckpt is not None else "no checkpoint had been written yet"
            raise TrainingDiverged(
                f"loss {', '.join(f'{k}={values[k]}' for k in bad)} at step {self.step}: training stopped, "
                f"nothing saved from this step; {kept}. Try a lower learning rate.")
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        self.n_sum += 1
        if self.step % self.loop.log_every == 0 or self.step == self.total:
            self.last_losses = {k: round(v / self.n_sum, 5) for k, v in self.sums.items()}
            self.pbar.set_postfix(self.last_losses, refresh=False)
            if self.main:
                self.log_csv.write({"step": self.step, "epoch": round(self.step / self.steps_per_epoch, 4),
                                    "time_s": round(self.elapsed(), 2), **self.last_losses})
            self.sums, self.n_sum = {}, 0

    def decay_lr(self) -> None:
        """--lr_decay_after: lr = base lr * min(1, (total - step) / (total - after)) for the step about to run."""
        after = self.loop.lr_decay_after
        if after < 0:
            return
        factor = min(1.0, (self.total - self.step) / max(1, self.total - after))
        for n, o in self.opts.items():
            for group, base in zip(o.param_groups, self.base_lrs[n]):
                group["lr"] = base * factor

    def elapsed(self) -> float:
        return self.wall + (time.monotonic() - self.t0)

    def stop_requested(self) -> str | None:
        """The time budget or the stop file, agreed by every process (each must take the same branch)."""
        over_budget = self.loop.max_minutes > 0 and (time.monotonic() - self.t0) >= self.loop.max_minutes * 60
        stopped = bool(self.loop.stop_file) and os.path.exists(self.loop.stop_file)
        if self.acc.num_processes > 1:
            flags = self.acc.reduce(torch.tensor([over_budget, stopped], device=self.acc.device, dtype=torch.int32),
                                    reduction="max")
            over_budget, stopped = bool(flags[0]), bool(flags[1])
        if stopped:
            return f"stopped on request ({self.loop.stop_file} exists)"
        return f"time budget of {self.loop.max_minutes} min reached" if over_budget else None

    def snapshot(self) -> None:
        """The fixed-noise grid (snapshots/step-N.png and samples.png) and the family's monitor metrics."""
        if not isinstance(self.fam, Previews):
            return
        loop, out = self.loop, self.out
        g = grid(self.fam.preview(self.cfg, self.plain, torch.Generator(self.acc.device).manual_seed(loop.seed)),
                 nrow=8)
        meta = {"model": str(out), "step": str(self.step), "seed": str(loop.seed)}
        save_png(out / "snapshots" / f"step-{self.step:08d}.png", g, meta)
        save_png(out / SAMPLES, g, meta)
        if isinstance(self.fam, Monitors) and loop.monitor_n > 0:  # the mode-collapse signal, on its own noise
            with torch.random.fork_rng(devices=[]):  # leaves the training RNG untouched (exact resume)
                gen = torch.Generator(self.acc.device).manual_seed(loop.seed + 1)
                values = self.fam.monitor(self.cfg, self.plain, gen, loop.monitor_n)
            if values:
                self.monitored.update(values)
                self.monitor_csv.write({"step": self.step, **values})
                self.pbar.write(f"step {self.step}: " + ", ".join(f"{k}={v}" for k, v in values.items()))

    def checkpoint(self) -> None:
        """model.safetensors + config.json, the exact-resume state, and the card."""
        acc, out, loop, step = self.acc, self.out, self.loop, self.step
        acc.wait_for_everyone()
        if self.main:
            elapsed = self.elapsed()
            save_model(out, self.family_name, self.cfg, self.plain, step, fp16=loop.fp16_weights)
            save_train_state(out, {
                "family": self.family_name, "config": config_to_dict(self.cfg), "loop": config_to_dict(loop),
                "step": step, "wall_time_s": elapsed, "commands": self.commands,
                "modules": {n: m.state_dict() for n, m in self.plain.items()},
                "optimizers": {n: o.state_dict() for n, o in self.opts.items()},
                "rng": _rng_state(self.gen),
            })
            card, lineage = read_card(out), self.lineage
            update_card(
                out,
                command=self.commands[0] if len(self.commands) == 1 else self.commands,
                family=self.family_name,
                data=self.data_info,
                steps=step,
                epochs=round(step / self.steps_per_epoch, 3),
                batch_size=loop.batch_size * acc.num_processes,
                wall_time_s=round(elapsed, 1),
                hardware=hardware(),
                num_processes=acc.num_processes,
                torch_version=torch.__version__,
                final_losses=self.last_losses,
                training_metrics=self.monitored or card.get("training_metrics", {}),
                metrics=card.get("metrics", {}),
                **({"init_from": lineage, "steps_total": lineage["steps_total"] + step,
                    "wall_time_total_s": round(lineage["wall_time_total_s"] + elapsed, 1)} if lineage else {}),
            )
        acc.wait_for_everyone()
        self.last_ckpt = step

    def finish(self, reason: str | None) -> None:
        if not self.main:
            return
        if reason:
            if self.step % self.loop.sample_every:
                self.snapshot()
            print(f"stopped at step {self.step}/{self.total}: {reason}. Continue with the same command plus --resume.",
                  file=sys.stderr)
        print(f"checkpoint: {self.out} (step {self.step}, card {self.out / CARD})", file=sys.stderr)

"""Command line: `python -m trainers {train,sample,translate,evaluate} ...`

    python -m trainers train <family> [--key=value ...]
    python -m trainers sample <checkpoint-dir> --n N --seed S [--label K] [--prompt TEXT] [--key=value ...] --out FILE.npz
    python -m trainers translate <checkpoint-dir> --input FILE.npz [--direction=AtoB|BtoA] --out FILE.npz
    python -m trainers evaluate <checkpoint-dir> [--n N] [--seed S] [--judge CLASSIFIER-DIR] [--record_as NAME]
    python -m trainers inpaint <ddpm-dir> --input FILE.npz --mask SHAPE|HOLES.npz [--resample R] [--steps S] --out FILE.npz
    python -m trainers inpaint <ddpm-dir> --evaluate [--n N] [--steps S] [--resample R] [--judge CLASSIFIER-DIR]
    python -m trainers inpaint <ldm_inpaint-dir> --input FILE.npz --mask SHAPE|HOLES.npz --prompt TEXT [--steps S] [--guidance W] --out FILE.npz

Errors a user can fix are printed as one line on stderr (exit code 2), never as a traceback.
"""

from __future__ import annotations

import inspect
import json
import re
import shlex
import sys
import typing
from pathlib import Path

USAGE = __doc__.split("\n\n")[1]


def _typed_options(fn, options: dict[str, str], what: str) -> dict:
    """Convert pass-through `--key=value` strings using the defaults in `fn`'s signature."""
    from .core.config import _convert
    from .core.errors import UserError

    params = {k: p for k, p in inspect.signature(fn).parameters.items()
              if p.default is not inspect.Parameter.empty and k not in ("label", "prompt", "batch", "prompts")}
    hints = typing.get_type_hints(fn)
    out = {}
    for k, v in options.items():
        if k not in params:
            raise UserError(f"unknown option --{k} for {what}; valid: {', '.join('--' + p for p in params) or '(none)'}")
        default = params[k].default
        if default is not None:
            tp = type(default)
        else:  # `x: int | None = None`: the annotation's non-None type
            tp = next((a for a in typing.get_args(hints.get(k)) if a is not type(None)), str)
        out[k] = _convert(k, v, tp)
    return out


def _int(options: dict, key: str, default=None, lo: int | None = None, hi: int | None = None):
    from .core.errors import UserError

    if key not in options:
        if default is None:
            raise UserError(f"--{key} is required")
        return default
    try:
        v = int(options.pop(key))
    except ValueError:
        raise UserError(f"--{key} must be an integer") from None
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise UserError(f"--{key}={v} is out of range [{lo}, {hi}]")
    return v


def cmd_sample(args: list[str], options: dict) -> None:
    import numpy as np
    import torch

    from .core.checkpoint import load_model
    from .core.errors import UserError
    from .core.family import Samples
    from .core.images import to_hwc_array
    from .families import get_family

    if len(args) != 1:
        raise UserError("usage: python -m trainers sample <checkpoint-dir> --n N --seed S --out FILE.npz")
    n = _int(options, "n", lo=1, hi=100_000)
    seed = _int(options, "seed", 0, lo=0, hi=2**63 - 1)
    out = options.pop("out", None)
    if not out:
        raise UserError("--out FILE.npz is required")
    device = options.pop("device", "cpu")
    label = _int(options, "label", -1, lo=0, hi=10**6) if "label" in options else None
    prompt = options.pop("prompt", None)
    loaded = load_model(args[0], device)
    fam = get_family(loaded.family)
    if not isinstance(fam, Samples):
        raise UserError(f"{args[0]} is a {loaded.family!r} model, which does not generate images")
    extra = _typed_options(fam.sample, options, f"sampling a {loaded.family} model")
    kwargs = dict(extra)
    if label is not None:
        kwargs["label"] = label
    if prompt is not None:
        kwargs["prompt"] = prompt
    gen = torch.Generator(device).manual_seed(seed)
    result = fam.sample(loaded.cfg, loaded.modules, n, gen, **kwargs)
    arrays = {"images": to_hwc_array(result["images"])}
    if "labels" in result:
        arrays["labels"] = np.asarray(result["labels"], dtype=np.int64)
    if "prompts" in result:
        arrays["prompts"] = np.asarray(result["prompts"])
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    print(json.dumps({"out": out, "images": list(arrays["images"].shape), "seed": seed, **extra}))


def cmd_translate(args: list[str], options: dict) -> None:
    import numpy as np

    from .core.checkpoint import load_model
    from .core.errors import UserError
    from .core.family import Translates
    from .core.images import from_hwc_array, to_hwc_array
    from .families import get_family

    if len(args) != 1 or "input" not in options or "out" not in options:
        raise UserError("usage: python -m trainers translate <checkpoint-dir> --input FILE.npz "
                        "[--direction=AtoB|BtoA] --out FILE.npz")
    loaded = load_model(args[0], options.pop("device", "cpu"))
    fam = get_family(loaded.family)
    if not isinstance(fam, Translates):
        raise UserError(f"{args[0]} is a {loaded.family!r} model, which does not translate images")
    direction = options.pop("direction", "AtoB")
    if direction not in ("AtoB", "BtoA"):
        raise UserError(f"--direction must be AtoB or BtoA, got {direction!r}")
    src, out = options.pop("input"), options.pop("out")
    try:
        with np.load(src, allow_pickle=False) as f:
            images = from_hwc_array(f["images"])
    except (OSError, KeyError, ValueError) as e:
        raise UserError(f"cannot read uint8 'images' from {src}: {e}") from None
    extra = _typed_options(fam.translate, options, f"translating with a {loaded.family} model")
    note = None
    if hasattr(loaded.cfg, "image_size") and hasattr(loaded.cfg, "channels"):  # take what a user has
        from .core.data import fit_images

        # a super-resolution model takes smaller images than it makes (its config's input_size)
        size = getattr(loaded.cfg, "input_size", loaded.cfg.image_size)
        images, note = fit_images(images, size, loaded.cfg.channels)
        if note:
            print(note, file=sys.stderr)
    result = fam.translate(loaded.cfg, loaded.modules, images, direction, **extra)
    arr = to_hwc_array(result)
    np.savez_compressed(out, images=arr)
    print(json.dumps({"out": out, "images": list(arr.shape), "direction": direction,
                      **({"resized": note} if note else {})}))


def cmd_inpaint(args: list[str], options: dict) -> None:
    """Fill holes with a pixel DDPM (replace, or RePaint with --resample R > 1), or with a latent inpainting
    model and a prompt (trainers/latent_diffusion/inpaint.py); or, with --evaluate, measure the pixel DDPM's
    methods against the blur baseline on held-out test images (trainers/ddpm/inpaint.py)."""
    import numpy as np
    import torch

    from .core.checkpoint import load_model
    from .core.errors import UserError
    from .core.images import from_hwc_array, to_hwc_array
    from .ddpm import inpaint

    usage = ("usage: python -m trainers inpaint <ddpm-dir> --input FILE.npz --mask SHAPE|HOLES.npz --out FILE.npz "
             "(or --evaluate), or <ldm_inpaint-dir> ... --prompt TEXT")
    if len(args) != 1:
        raise UserError(usage)
    loaded = load_model(args[0], options.pop("device", "cpu"))
    if loaded.family not in ("ddpm", "ldm_inpaint"):
        raise UserError(f"{args[0]} is a {loaded.family!r} model; inpainting takes a pixel DDPM or an ldm_inpaint model")
    latent = loaded.family == "ldm_inpaint"
    if latent and "evaluate" in options:
        raise UserError(f"measure {args[0]} with: python -m trainers evaluate {args[0]}")
    if latent and "resample" in options:
        raise UserError("--resample is RePaint's, for a pixel DDPM; the latent model fills the hole in one pass")
    if latent and not options.get("prompt", "").strip():
        raise UserError("--prompt is required: the latent model fills the hole with what it says (\"a red bag\")")
    steps = _int(options, "steps", loaded.cfg.sample_steps if latent else 50, lo=1, hi=loaded.cfg.T)
    resample = _int(options, "resample", 1, lo=1, hi=inpaint.MAX_RESAMPLE)
    seed = _int(options, "seed", 0, lo=0, hi=2**63 - 1)
    if "evaluate" in options:
        from .core import metrics

        options.pop("evaluate")
        n = _int(options, "n", 500, lo=10, hi=5000)
        judges = {"cnn": metrics.load_classifier()}
        if "judge" in options:
            judges["judge"] = metrics.load_classifier(options.pop("judge"))
        if options:
            raise UserError(f"unknown option(s) for inpaint --evaluate: {', '.join('--' + k for k in options)}")
        for row in inpaint.evaluate(loaded, n, seed, steps, max(resample, 2), judges):
            print(json.dumps(row), flush=True)
        return
    if "input" not in options or "out" not in options or "mask" not in options:
        raise UserError(usage)
    src, out, mask = options.pop("input"), options.pop("out"), options.pop("mask")
    label = (_int(options, "label", -1, lo=0, hi=loaded.cfg.n_classes - 1)
             if "label" in options and not latent else None)
    prompt = options.pop("prompt", "").strip() if latent else None
    try:
        guidance = float(options.pop("guidance")) if "guidance" in options else None
    except ValueError:
        raise UserError("--guidance must be a number") from None
    if guidance is not None and not 0 <= guidance <= 20:  # as train's --guidance (NaN fails it too)
        raise UserError(f"--guidance must be in [0, 20], got {guidance}")
    if options:
        raise UserError(f"unknown option(s) for inpaint: {', '.join('--' + k for k in options)}")
    try:
        with np.load(src, allow_pickle=False) as f:
            images = from_hwc_array(f["images"])
    except (OSError, KeyError, ValueError) as e:
        raise UserError(f"cannot read uint8 'images' from {src}: {e}") from None
    from .core.data import fit_images

    images, note = fit_images(images, loaded.cfg.image_size, 3 if latent else loaded.cfg.channels)
    if note:
        print(note, file=sys.stderr)
    size = loaded.cfg.image_size
    shape = mask.replace("_", " ").replace("-", " ")
    if shape in inpaint.MASKS:
        hole = 1 - inpaint.make_mask(shape, len(images), size, torch.Generator().manual_seed(seed))
    else:
        try:
            with np.load(mask, allow_pickle=False) as f:
                hole = torch.from_numpy((np.asarray(f["holes"]) > 0).astype(np.float32))
        except (OSError, KeyError, ValueError) as e:
            raise UserError(f"--mask is one of {', '.join(inpaint.MASKS)} or an .npz with 'holes' (N, H, W), "
                            f"1 where to fill: {e}") from None
        if hole.ndim == 3:
            hole = hole[:, None]
        if hole.shape[-2:] != (size, size):
            hole = (torch.nn.functional.interpolate(hole, size=(size, size), mode="area") > 0.5).float()
    if latent:
        from .latent_diffusion import inpaint as latent_inpaint

        filled = latent_inpaint.inpaint(loaded.cfg, loaded.modules, images, hole, [prompt] * len(images), seed,
                                        steps, guidance)
        settings = {"prompt": prompt, "guidance": loaded.cfg.guidance if guidance is None else guidance}
    else:
        filled = inpaint.inpaint_images(loaded, images, hole, steps, resample, seed, label, guidance)
        settings = {"resample": resample}
    np.savez_compressed(out, images=to_hwc_array(filled))
    print(json.dumps({"out": out, "images": list(filled.shape), "steps": steps, **settings,
                      **({"resized": note} if note else {})}))


def cmd_evaluate(args: list[str], options: dict) -> None:
    from .core.checkpoint import load_model, update_card
    from .core.errors import UserError
    from .evaluate import evaluate

    if len(args) != 1:
        raise UserError("usage: python -m trainers evaluate <checkpoint-dir> [--n N] [--seed S] [sampling options]")
    n = _int(options, "n", 10000, lo=2, hi=100_000)
    seed = _int(options, "seed", 0, lo=0)
    judge = options.pop("judge", None)
    record_as = options.pop("record_as", None)  # a second metric set of the card (e.g. another sampling mode)
    if record_as is not None and not re.fullmatch(r"[a-z0-9_]{1,40}", record_as):
        raise UserError(f"--record_as takes a name of lowercase letters, digits and _, got {record_as[:40]!r}")
    loaded = load_model(args[0], options.pop("device", "cpu"))
    from .families import get_family

    fam = get_family(loaded.family)
    sampling = {}
    if options:  # sampling options of generative families (e.g. a DDPM's --steps, --guidance)
        target = getattr(fam, "evaluate", None) or getattr(fam, "sample", None)
        if target is None:
            raise UserError(f"unknown option(s) for evaluate: {', '.join('--' + k for k in options)}")
        sampling = _typed_options(target, options, f"evaluating a {loaded.family} model")
    from .core import metrics as M

    if judge is not None:  # its config alone says what it is; the metrics load its weights once, cached
        from .core.checkpoint import is_checkpoint, read_meta

        if not is_checkpoint(judge):
            raise UserError(f"--judge {judge} is not a checkpoint folder")
        if read_meta(judge).get("family") != "classifier":
            raise UserError(f"--judge {judge} is a {read_meta(judge).get('family')} checkpoint, not a classifier")
    with M.judged_by(judge):
        metrics = evaluate(loaded, n=n, seed=seed, **sampling)
    card = loaded.card
    extra = "".join(f" --{k} {shlex.quote(str(v))}" for k, v in sampling.items())
    command = f"python -m trainers evaluate {shlex.quote(args[0])} --n {n} --seed {seed}{extra}"
    if record_as is not None:
        command += f" --record_as {record_as}"
    if judge is None and record_as is not None:  # beside the card's `metrics`, under its own name and command
        update_card(args[0], **{f"metrics_{record_as}": metrics, f"evaluate_command_{record_as}": command})
    elif judge is None:
        update_card(args[0], metrics={**card.get("metrics", {}), **metrics}, evaluate_command=command)
    else:  # another judge's verdicts go beside the shipped judge's, under its name, with their command
        name = Path(judge).resolve().name
        judged = {**card.get("judged_by", {}), name: {**metrics, "command": f"{command} --judge {shlex.quote(judge)}"}}
        update_card(args[0], judged_by=judged)
    print(json.dumps(metrics, indent=2))


def train_help(family: str) -> str:
    """Every option of the loop and of `family`, with its default."""
    import dataclasses

    from .core.loop import LoopConfig
    from .families import get_family

    lines = [f"python -m trainers train {family} [--key=value ...]", "", "loop options:"]
    lines += [f"  --{f.name}={f.default}" for f in dataclasses.fields(LoopConfig)]
    lines += ["", f"{family} options:"]
    lines += [f"  --{f.name}={f.default}" for f in dataclasses.fields(get_family(family).Config)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from .core.config import parse_options
    from .core.errors import UserError

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    try:
        args, options = parse_options(rest)
        if cmd == "train":
            from . import fit

            if len(args) != 1:
                raise UserError("usage: python -m trainers train <family> [--key=value ...]")
            if "help" in options:
                print(train_help(args[0]))
                return 0
            fit(args[0], options, command="python -m trainers " + shlex.join(argv))
        elif cmd == "sample":
            cmd_sample(args, options)
        elif cmd == "translate":
            cmd_translate(args, options)
        elif cmd == "evaluate":
            cmd_evaluate(args, options)
        elif cmd == "inpaint":
            cmd_inpaint(args, options)
        else:
            raise UserError(f"unknown command {cmd!r}\n{USAGE}")
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the last complete checkpoint is kept; continue with --resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

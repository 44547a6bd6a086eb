"""The model tables of docs/metrics.md, generated from the shipped checkpoints' cards (never typed by hand).

    python -m docs.tables            # rewrite the generated blocks of docs/metrics.md from checkpoints/*/card.json
    python -m docs.tables --check    # exit 1 (and say so) when docs/metrics.md is not what the cards give

Each family group has its own block in the page, between `<!-- tables:<group>:begin -->` and
`<!-- tables:<group>:end -->`; the prose around the blocks is hand-written and left alone. One row per
checkpoint (one per metrics variant where a card has several, e.g. `metrics` and `metrics_guided`): what it is
(from its config), its steps, wall time and hardware (from the card, over its whole lineage), and its headline
metrics, with the card's `evaluate_command`s under each table. Reads JSON only: no torch, no weights.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ROOT / "checkpoints"
PAGE = ROOT / "docs" / "metrics.md"
COMMAND = "python -m docs.tables"
LIVE_PREFIX = "live-"  # runs saved from the app's "Train live" tab (playground/image_lab.py): not shipped models

# group -> the families it holds, in the page's order; a family in none of them goes to "other"
GROUPS = {
    "judges": ("classifier",),
    "gan": ("gan",),
    "vae": ("vae",),
    "ddpm": ("ddpm",),
    "translation": ("pix2pix", "cyclegan"),
    "text-to-image": ("clip", "autoencoder_kl", "latent_diffusion", "unclip_prior", "unclip_decoder"),
    "super-resolution": ("srgan", "sr3"),
    "inpainting": ("ldm_inpaint",),
    "other": (),
}
FAMILY_TITLES = {"srgan": "SRGAN", "sr3": "SR3 (diffusion, trained)", "ldm_inpaint": "Latent inpainting", "pix2pix": "Pix2Pix", "cyclegan": "CycleGAN", "clip": "CLIP", "autoencoder_kl": "KL autoencoder",
                 "latent_diffusion": "Latent diffusion", "unclip_prior": "unCLIP prior (DALL·E 2)",
                 "unclip_decoder": "unCLIP decoder (DALL·E 2)"}


# ---------------------------------------------------------------------------------------------------- reading

def read_checkpoints(root: Path = CHECKPOINTS) -> list[dict]:
    """Every shipped checkpoint with a card: {"name", "family", "config", "card"}, sorted by name."""
    out = []
    for card_path in sorted(root.glob("*/card.json")):
        folder = card_path.parent
        if folder.name.startswith(LIVE_PREFIX):
            continue
        card = json.loads(card_path.read_text())
        # our config is trainer.json where a library's own config.json takes that name (transformers, diffusers)
        meta_path = folder / "trainer.json" if (folder / "trainer.json").is_file() else folder / "config.json"
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        out.append({"name": folder.name, "family": meta.get("family") or card.get("family") or "?",
                    "config": meta.get("config") or {}, "card": card})
    return out


# ------------------------------------------------------------------------------------------------- formatting

def num(v, digits: int = 4) -> str:
    """A number as people read it: integers whole, floats to `digits` significant digits (no exponent above 1)."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        if v == 0:
            return "0"
        if abs(v) >= 10 ** digits:
            return f"{v:.0f}"
        if abs(v) >= 1e-4:
            decimals = max(digits - 1 - math.floor(math.log10(abs(v))), 0)
            text = f"{round(v, decimals):.{decimals}f}"
            return text.rstrip("0").rstrip(".") if "." in text else text
        return f"{v:.{digits - 1}e}"
    return str(v)


def rate(v) -> str:
    """A learning rate as it is typed on the command line: 2e-4, 1e-3."""
    if not isinstance(v, (int, float)) or v == 0 or isinstance(v, bool):
        return num(v)
    mantissa, exponent = f"{v:.3e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def pct(v) -> str:
    return "—" if v is None else f"{num(100 * v)}%"


def pm(v, std) -> str:
    return num(v) if std is None else f"{num(v)} ± {num(std)}"


def duration(seconds) -> str:
    if not isinstance(seconds, (int, float)):
        return "—"
    return f"{seconds:.0f} s" if seconds < 1000 else f"{seconds / 60:.1f} min"


def cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


def _hardware(text: str) -> str:
    """A hardware string without its thread count: runs on the same machine group together."""
    return re.sub(r"\s*\(torch threads \d+\)", "", text or "?")


# ----------------------------------------------------------------------------------------- lineage: steps, time

def steps_cell(card: dict) -> str:
    steps, batch, epochs = card.get("steps"), card.get("batch_size"), card.get("epochs")
    this = f"{num(steps)} of {num(batch)}" if batch else num(steps)
    if epochs is not None:
        this += f" ({num(epochs)} epochs)"
    history, parent = card.get("history") or [], card.get("init_from") or {}
    if history:
        text = f"{num(card.get('steps_total', sum(h.get('steps', 0) for h in history)))} in all, {len(history)} runs"
        if card.get("images_seen") is not None:
            text += f": {num(card['images_seen'] / 1e6)} M images"
            if card.get("epochs_total") is not None:
                text += f" = {num(card['epochs_total'])} epochs"
        return text
    if parent.get("steps_total") is not None:
        return (f"{num(card.get('steps_total'))} in all: {num(parent['steps_total'])} before (`init_from` "
                f"{parent.get('checkpoint', '?')} at step {num(parent.get('step'))}), then {this}")
    return this


def time_cell(card: dict) -> str:
    """Wall time and hardware; for a lineage (`history`) the time and steps on each machine."""
    history = card.get("history") or []
    if not history:
        wall = duration(card.get("wall_time_s"))
        hardware = card.get("hardware", "?")
        if card.get("wall_time_total_s") is not None:
            return f"{duration(card['wall_time_total_s'])} in all (this run {wall}, {hardware})"
        return f"{wall}, {hardware}"
    machines: dict[str, dict] = {}
    for h in history:
        m = machines.setdefault(_hardware(h.get("hardware", "?")), {"steps": 0, "batches": [], "wall": 0.0,
                                                                      "timed": True})
        m["steps"] += h.get("steps", 0)
        m["batches"].append(num(h.get("batch_size")))
        if isinstance(h.get("wall_time_s"), (int, float)):
            m["wall"] += h["wall_time_s"]
        else:
            m["timed"] = False
    total = card.get("wall_time_total_s")
    untimed = [k for k, m in machines.items() if not m["timed"]]
    if len(untimed) == 1 and isinstance(total, (int, float)):  # the one machine without run times: the rest
        machines[untimed[0]]["wall"] = total - sum(m["wall"] for k, m in machines.items() if k != untimed[0])
        machines[untimed[0]]["timed"] = True
    parts = []
    for hardware, m in machines.items():
        batches = " / ".join(dict.fromkeys(m["batches"])) if len(set(m["batches"])) == 1 else " / ".join(m["batches"])
        wall = duration(m["wall"]) if m["timed"] else "time not recorded"
        parts.append(f"{hardware}: {num(m['steps'])} steps at batch {batches}, {wall}")
    return f"{duration(total)} in all; " + "; ".join(parts)


def commands_block(entries: list[dict]) -> list[str]:
    """The evaluate commands of the table's checkpoints, one a line, under the table."""
    commands = [c["card"][k] for c in entries for k in sorted(c["card"])
                if k.startswith("evaluate_command") and isinstance(c["card"][k], str)]
    return ["", "```bash", *commands, "```"] if commands else []


def variants(card: dict) -> list[tuple[str, dict]]:
    """The card's metric sets: `metrics` first, then `metrics_<variant>` (e.g. guided) in key order."""
    out = [("metrics", card["metrics"])] if isinstance(card.get("metrics"), dict) else []
    out += [(k, v) for k, v in sorted(card.items()) if k.startswith("metrics_") and isinstance(v, dict)]
    return out


def sampling_cell(m: dict) -> str:
    """How a diffusion metric set was sampled: sampler, steps, guidance and its interval, sample count."""
    sampler = str(m.get("sampler") or m.get("scheduler") or "?").upper()
    text = f"{sampler} {num(m.get('steps'))}"
    w, interval = m.get("guidance"), m.get("guidance_interval")
    if w is not None:
        text += f", w = {num(w)}"
        if w != 1 and interval is not None:
            text += " at every step" if interval >= 1 else f" for t < {num(interval)} T"
    n = m.get("n_generated", m.get("n"))
    if n is not None:
        text += f"; {num(n)} samples"
    return text


# -------------------------------------------------------------------------------------------- per family

# the families whose description is their config's numbers in a sentence ({field} from config.json)
SIMPLE = {
    "clip": "text {text_layers} × {width}, ViT {vision_layers} × {width} on {patch}-px patches, embed {embed_dim}",
    "autoencoder_kl": "AutoencoderKL {widths}, {image_size}×{image_size}×{channels} → {latent_channels} latent "
                      "channels, β = {beta}",
    "latent_diffusion": "UNet2DConditionModel {widths}, heads of {head_dim} channels, on {clip_name} and {vae_name} "
                        "(frozen)",
    "unclip_prior": "PriorTransformer, {layers} layers × {heads} heads of {head_dim}, {schedule} schedule, on "
                    "{clip_name} (frozen)",
    "ldm_inpaint": "UNet2DConditionModel {widths} taking [z_t, hole, E(masked image)] (9 channels), heads of "
                   "{head_dim}, on {clip_name} and {vae_name} (frozen); whole image as hole {p_full}",
    "unclip_decoder": "UNet2DConditionModel {widths}, z_i in the time embedding and {image_tokens} tokens, on "
                      "{clip_name} and {vae_name} (frozen)",
}


class _Fields(dict):
    """A config's fields for `SIMPLE`'s sentences, with extras; a missing one reads "None", as `cfg.get` gave."""

    def __init__(self, cfg: dict, **extra):
        super().__init__({**cfg, **extra})

    def __missing__(self, key):
        return None


def describe(c: dict) -> str:
    """What the checkpoint is, from its config."""
    f, cfg = c["family"], c["config"]
    size = f"{cfg.get('image_size', '?')} px"
    widths = "/".join(str(w) for w in cfg.get("widths", []))  # the U-Nets' and the autoencoder's channel widths
    if f == "classifier":
        arch = cfg.get("arch", "cnn")
        net = f"SmallCNN, width {cfg.get('width')}" if arch == "cnn" else "MLP"
        return f"classifier ({net}, {cfg.get('feature_dim')}-d features), {size}"
    if f == "gan":
        text = f"{'DCGAN' if cfg.get('arch', 'dcgan') == 'dcgan' else cfg.get('arch', '').upper()} {size}, {cfg.get('loss')}"
        if cfg.get("n_critic", 1) > 1:
            text += f", {cfg['n_critic']} D steps"
        if cfg.get("loss") == "wgan-gp":
            text += f", λ = {num(cfg.get('gp_lambda'))}"
        text += f"; Adam {rate(cfg.get('lr_g'))} ({num(cfg.get('beta1'))}, {num(cfg.get('beta2'))})"
        if cfg.get("n_classes"):
            d_cond = f", D: {cfg['d_cond']}" if cfg.get("d_cond") else ""
            text = f"class-conditional ({cfg['n_classes']} classes{d_cond}) " + text
            if cfg.get("ac_weight"):
                text += f"; auxiliary classifier (AC-GAN), weight {num(cfg['ac_weight'])}"
        if cfg.get("d_norm") == "spectral":
            text += "; spectral norm in D"
        if cfg.get("mapping_layers"):
            text += f"; {cfg['mapping_layers']}-layer mapping network"
        return text
    if f == "vae":
        kind = ("VAE" if cfg.get("variational") else
                "denoising autoencoder" if cfg.get("noise_std") else "autoencoder")
        text = f"{cfg.get('arch', '')} {kind}, latent {cfg.get('latent_dim')}"
        if cfg.get("variational"):
            text += f", c = {num(cfg.get('c'))} ({cfg.get('likelihood')})"
        if cfg.get("noise_std"):
            text += f", noise σ = {num(cfg['noise_std'])}"
        return text
    if f == "ddpm":
        cond = f"class-conditional ({cfg['n_classes']} classes, p_uncond {num(cfg.get('p_uncond'))}) " if cfg.get("n_classes") else ""
        mults = "-".join(str(m) for m in cfg.get("mults", []))
        attn = ", ".join(f"{r} px" for r in cfg.get("attn_res", []))
        return (f"{cond}DDPM {size}: U-Net base {cfg.get('base')}, mults {mults}, attention at {attn}; "
                f"{cfg.get('schedule')} schedule, T = {cfg.get('T')}")
    if f == "pix2pix":
        return (f"{cfg.get('pairing')} → garment: U-Net ngf {cfg.get('ngf')} + PatchGAN ({cfg.get('d_layers')} "
                f"layers), λ_L1 = {num(cfg.get('lambda_l1'))}, {size}")
    if f == "cyclegan":
        dual = cfg.get("loss") == "dualgan"  # DualGAN's objective on the same networks (trainers/cyclegan/losses.py)
        return (f"{'DualGAN ' if dual else ''}{cfg.get('domain_a')} ↔ {cfg.get('domain_b')}: 2 × ResNet-"
                f"{cfg.get('n_blocks')} ngf {cfg.get('ngf')} + 2 PatchGAN{' WGAN critics' if dual else 's'}, "
                f"λ_cycle = {num(cfg.get('lambda_cycle'))}"
                + (f", clip {num(cfg.get('clip_value'))}, n_critic {cfg.get('n_critic')}, RMSProp {cfg.get('lr'):g}"
                   if dual else "") + f", {size}")
    if f == "srgan":
        small = cfg.get("image_size", 32) // cfg.get("scale", 1)
        kind = (f"SRGAN (λ_content {num(cfg.get('lambda_content'))}, λ_adv {num(cfg.get('lambda_adv'))})"
                if cfg.get("lambda_adv") else f"SRResNet (feature loss, λ {num(cfg.get('lambda_content'))})"
                if cfg.get("lambda_content") else "SRResNet (pixel loss alone)")
        return (f"{kind} ×{cfg.get('scale')}, {small} → {cfg.get('image_size')} px: {cfg.get('n_blocks')} residual "
                f"blocks of {cfg.get('ngf')} channels" + (f", D ndf {cfg.get('ndf')}" if cfg.get("lambda_adv") else ""))
    if f == "sr3":
        small = cfg.get("image_size", 32) // cfg.get("scale", 1)
        mults = "/".join(map(str, cfg.get("mults") or []))
        return (f"SR3 ×{cfg.get('scale')}, {small} → {cfg.get('image_size')} px: DDPM U-Net base {cfg.get('base')}, "
                f"mults {mults}, with bicubic(I_LR) concatenated to x_t; {cfg.get('schedule')} schedule, T = {cfg.get('T')}")
    if f in SIMPLE:
        return SIMPLE[f].format_map(_Fields(cfg, widths=widths, beta=num(cfg.get("beta")),
                                            clip_name=Path(str(cfg.get("clip"))).name,
                                            vae_name=Path(str(cfg.get("vae"))).name))
    return f"{f} model, {size}"


def _base(c: dict) -> list[str]:
    return [f"`{c['name']}`", describe(c), steps_cell(c["card"]), time_cell(c["card"])]


BASE = ["model", "what it is", "steps of batch (epochs)", "wall time, hardware"]


def judges_table(entries):
    rows = []
    for c in entries:
        m = c["card"].get("metrics", {})
        rows.append(_base(c) + [num(m.get("test_accuracy")), num(m.get("data_floor_fid")),
                                pm(m.get("data_floor_kid"), m.get("data_floor_kid_std"))])
    return table(BASE + ["test accuracy", "data floor FID", "data floor KID"], rows)


def gan_table(entries):
    rows = []
    for c in entries:
        m = c["card"].get("metrics", {})
        entropy = num(m.get("class_entropy")) + (f" / {num(m['class_entropy_max'])}" if "class_entropy_max" in m else "")
        ppl = f"{num(m['ppl_z'])} / {num(m['ppl_w'])}" if "ppl_z" in m and "ppl_w" in m else "—"
        rows.append(_base(c) + [num(m.get("fid")), pm(m.get("kid"), m.get("kid_std")), entropy,
                                num(m.get("class_accuracy")), ppl, num(m.get("n_generated"))])
    return table(BASE + ["FID", "KID", "class entropy", "class accuracy", "path length Z / W", "samples"], rows)


def per_card(entries, columns: list[str], cells) -> list[str]:
    """A table of one row a checkpoint: the common columns, then `cells(its card's metrics)`."""
    return table(BASE + columns, [_base(c) + cells(c["card"].get("metrics", {})) for c in entries])


def vae_table(entries):
    def cells(m):
        psnr = num(m.get("test_psnr_db"))
        if "noisy_input_psnr_db" in m:
            psnr = f"{num(m['noisy_input_psnr_db'])} (noisy input) → {psnr}"
        return [num(m.get("test_recon_mse")), psnr, num(m.get("test_kl_nats")), num(m.get("prior_fid")),
                pm(m.get("prior_kid"), m.get("prior_kid_std")), num(m.get("prior_class_entropy"))]

    return per_card(entries, ["recon MSE", "PSNR (dB)", "KL (nats)", "prior FID", "prior KID", "prior class entropy"],
                    cells)


def ddpm_table(entries):
    rows = []
    for c in entries:
        for i, (_, m) in enumerate(variants(c["card"])):
            rows.append((_base(c) if i == 0 else ["", "", "", ""])
                        + [sampling_cell(m), num(m.get("fid")), pm(m.get("kid"), m.get("kid_std")),
                           num(m.get("class_entropy")), num(m.get("class_accuracy")),
                           f"{num(m.get('sample_seconds_per_image'))} s"])
    return table(BASE + ["sampling", "FID", "KID", "class entropy", "class accuracy", "s per image"], rows)


SKETCH_STYLES = ("sobel", "morphological", "outline", "marr_hildreth", "canny", "roberts")  # pairs.EDGE_OPERATORS


def sketch_kept(m: dict) -> str:
    """Class kept from clean sketches of each style, Sobel / morphological / outline / Marr-Hildreth / Canny /
    Roberts (the last two held out of every training set), and the judge on the real garments."""
    if not any(f"class_kept_{s}" in m for s in SKETCH_STYLES):
        return "—"
    return " / ".join(num(m.get(f"class_kept_{s}"), 3) for s in SKETCH_STYLES) + f" (real {num(m.get('real_class_accuracy'), 3)})"


def pix2pix_table(entries):
    rows = []
    for c in entries:
        m = c["card"].get("metrics", {})
        rows.append(_base(c) + [num(m.get("test_l1")), num(m.get("test_psnr_db")), num(m.get("test_ssim")),
                                num(m.get("output_fid")), pm(m.get("output_kid"), m.get("output_kid_std")),
                                sketch_kept(m)])
    return table(BASE + ["held-out L1", "PSNR (dB)", "SSIM", "outputs' FID", "outputs' KID",
                         "class kept from sketches: Sobel / morph. / outline / Marr–Hildreth / Canny / Roberts (the last two "
                         "held out of training)"], rows)


def cyclegan_table(entries):
    rows = []
    for c in entries:
        m, cfg = c["card"].get("metrics", {}), c["config"]
        a, b = cfg.get("domain_a", "A"), cfg.get("domain_b", "B")
        rows.append(_base(c) + [
            f"{pct(m.get('a_to_b_in_target_class'))} classified as {b}, FID {num(m.get('a_to_b_fid'))}",
            f"{pct(m.get('b_to_a_in_target_class'))} classified as {a}, FID {num(m.get('b_to_a_fid'))}",
            f"{num(m.get('cycle_l1_a'))} / {num(m.get('cycle_l1_b'))}",
            f"{pct(m.get('real_a_in_own_class'))} / {pct(m.get('real_b_in_own_class'))}"])
    return table(BASE + ["A → B", "B → A", "cycle L1 (A / B)", "real test images classified right (A / B)"], rows)


def clip_table(entries):
    rows = []
    for c in entries:
        m = c["card"].get("metrics", {})
        rows.append(_base(c) + [num(m.get("zero_shot_class_acc")), num(m.get("zero_shot_colour_acc")),
                                num(m.get("zero_shot_size_acc")), num(m.get("zero_shot_caption_acc_160way")),
                                num(m.get("n_test"))])
    return table(BASE + ["zero-shot class", "colour", "size", "full 160-caption choice", "held-out images"], rows)


def autoencoder_kl_table(entries):
    return per_card(entries, ["held-out recon MSE", "PSNR (dB)", "L1", "KL (nats/image)", "latent", "scaling factor"],
                    lambda m: [num(m.get("recon_mse")), num(m.get("recon_psnr_db")), num(m.get("recon_l1")),
                               num(m.get("kl_nats_per_image")),
                               "×".join(str(s) for s in m.get("latent_shape", [])) or "—", num(m.get("scaling_factor"))])


def latent_diffusion_table(entries):
    rows = []
    for c in entries:
        for i, (_, m) in enumerate(variants(c["card"])):
            def vs(key):  # the generated images' score beside the real images' own
                real = m.get(f"real_{key}")
                return num(m.get(key)) + (f" (real {num(real)})" if real is not None else "")

            rows.append((_base(c) if i == 0 else ["", "", "", ""])
                        + [sampling_cell(m), vs("class_accuracy"), vs("colour_accuracy"), vs("size_accuracy"),
                           vs("clip_score"), num(m.get("grey_fid_vs_fashion_mnist")),
                           f"{num(m.get('sample_seconds_per_image'))} s"])
    return table(BASE + ["sampling (prompts)", "class right", "colour right", "size right", "CLIP score",
                         "grey FID vs Fashion-MNIST", "s per image"], rows)


def _vs(m: dict, key: str) -> str:
    """A generated set's score beside the real images' own (`real_<key>`)."""
    real = m.get(f"real_{key}")
    return num(m.get(key)) + (f" (real {num(real)})" if real is not None else "")


def unclip_prior_table(entries):
    rows = []
    for c in entries:
        for i, (_, m) in enumerate(variants(c["card"])):
            rows.append((_base(c) if i == 0 else ["", "", "", ""])
                        + [sampling_cell(m), _vs(m, "retrieval_top1_160way"), _vs(m, "retrieval_top1"),
                           num(m.get("cos_to_real"))])
    return table(BASE + ["sampling (held-out captions)", "right of the 160 prompts", "own caption's z_t nearest",
                         "cosine to the real z_i"], rows)


def unclip_decoder_table(entries):
    rows = []
    for c in entries:
        for i, (_, m) in enumerate(variants(c["card"])):
            mode = {"variations": "variations of test images", "prior": "text → prior → decoder",
                    "text_embedding": "text embedding decoded (no prior)"}.get(m.get("mode"), str(m.get("mode")))
            rows.append((_base(c) if i == 0 else ["", "", "", ""])
                        + [mode, sampling_cell({"sampler": "ddim", **m}),
                           # a variation's class beside its source's, as the judge reads both
                           _vs(m, "class_accuracy") + (f"; as its source's {num(m['class_kept'])}"
                                                       if "class_kept" in m else ""), _vs(m, "colour_accuracy"),
                           _vs(m, "size_accuracy"), num(m.get("clip_image_cos")), _vs(m, "clip_score")])
    return table(BASE + ["from", "sampling", "class right", "colour right", "size right", "CLIP image cosine",
                         "CLIP score"], rows)


def srgan_table(entries):
    """Each model beside bicubic (and ILVR with the DDPM, where evaluated) on the same held-out images."""
    rows = []
    for c in entries:
        m = c["card"].get("metrics", {})
        for key, shown in (("model", f"`{c['name']}`"), ("bicubic", "↳ bicubic"), ("ilvr", "↳ diffusion (ILVR)")):
            if f"{key}_psnr_db" not in m:
                continue
            rows.append([shown, describe(c) if key == "model" else "the same images",
                         steps_cell(c["card"]) if key == "model" else "", time_cell(c["card"]) if key == "model" else "",
                         num(m.get(f"{key}_psnr_db")), num(m.get(f"{key}_ssim")), num(m.get(f"{key}_fid")),
                         f"{pct(m.get(f'{key}_class_accuracy_mlp'))} / {pct(m.get(f'{key}_class_accuracy_cnn'))}"])
        if "model_psnr_db" not in m:
            rows.append(_base(c) + ["—"] * 4)
    real = next((c["card"]["metrics"] for c in entries if "real_class_accuracy_mlp" in c["card"].get("metrics", {})), None)
    return table(BASE + ["PSNR (dB)", "SSIM", "FID", "class right, MLP / CNN judge"], rows) + (
        ["", f"The same judges read the originals right {pct(real['real_class_accuracy_mlp'])} (MLP) and "
             f"{pct(real['real_class_accuracy_cnn'])} (CNN) of the time."] if real else [])


def sr3_table(entries):
    """As the SRGAN table, with the sampler the scores were made with."""
    lines = srgan_table(entries)
    steps = {c["card"].get("metrics", {}).get("steps") for c in entries} - {None}
    return lines + (["", f"SR3 sampled by DDIM, {', '.join(map(str, sorted(steps)))} steps, seed 0."] if steps else [])


def ldm_inpaint_table(entries):
    """Per hole shape: the class kept (both judges, on the grey intensity), FID, and how far the autoencoder moved
    the kept pixels before they were put back."""
    from trainers.ddpm.inpaint import MASKS

    rows = []
    for c in entries:
        m = c["card"].get("metrics", {})
        for i, kind in enumerate(MASKS):
            key = kind.replace(" ", "_")
            head = _base(c) if i == 0 else ["", "", "", ""]
            if f"{key}_fid" not in m:
                if i == 0:
                    rows.append(head + ["—"] * 4)
                continue
            rows.append(head + [kind, f"{pct(m.get(f'{key}_class_kept_mlp'))} / {pct(m.get(f'{key}_class_kept_cnn'))}",
                                num(m.get(f"{key}_fid")), num(m.get(f"{key}_kept_error"))])
    return table(BASE + ["hole", "class kept, MLP / CNN judge", "FID", "kept pixels moved by the autoencoder "
                                                                     "(mean abs. error of 255, put back after)"], rows)


def generic_table(entries):
    rows = []
    for c in entries:
        m = c["card"].get("metrics", {})
        rows.append(_base(c) + [", ".join(f"{k} {num(v)}" for k, v in m.items()
                                          if isinstance(v, (int, float)) and not isinstance(v, bool)) or "—"])
    return table(BASE + ["metrics"], rows)


TABLES = {"classifier": judges_table, "gan": gan_table, "vae": vae_table, "ddpm": ddpm_table,
          "pix2pix": pix2pix_table, "cyclegan": cyclegan_table, "clip": clip_table,
          "autoencoder_kl": autoencoder_kl_table, "latent_diffusion": latent_diffusion_table,
          "unclip_prior": unclip_prior_table, "unclip_decoder": unclip_decoder_table, "srgan": srgan_table,
          "sr3": sr3_table, "ldm_inpaint": ldm_inpaint_table}


def judged_by_table(entries) -> list[str]:
    """Scores under a second judge (`evaluate --judge`, the card's `judged_by`), where a card has them: a
    translation's as its own table does (A → B, B → A), the others' as samples."""
    rows, translated = [], []
    for c in entries:
        for judge, m in sorted((c["card"].get("judged_by") or {}).items()):
            if "a_to_b_in_target_class" in m:
                a, b = c["config"].get("domain_a", "A"), c["config"].get("domain_b", "B")
                translated.append([f"`{c['name']}`", f"`{judge}`",
                                   f"{pct(m.get('a_to_b_in_target_class'))} classified as {b}, FID "
                                   f"{num(m.get('a_to_b_fid'))}",
                                   f"{pct(m.get('b_to_a_in_target_class'))} classified as {a}, FID "
                                   f"{num(m.get('b_to_a_fid'))}",
                                   f"{pct(m.get('real_a_in_own_class'))} / {pct(m.get('real_b_in_own_class'))}"])
                continue
            rows.append([f"`{c['name']}`", f"`{judge}`", num(m.get("fid")), pm(m.get("kid"), m.get("kid_std")),
                         num(m.get("class_entropy")), num(m.get("class_accuracy")),
                         num(m.get("real_class_accuracy")), num(m.get("n_generated")), sketch_kept(m)])
    if not rows and not translated:
        return []
    commands = [m["command"] for c in entries for _, m in sorted((c["card"].get("judged_by") or {}).items())
                if isinstance(m.get("command"), str)]
    return (["", "Judged by another classifier (`judged_by` in the card):", ""]
            + (table(["model", "judge", "FID", "KID", "class entropy", "class accuracy", "judge on real images",
                      "samples", "class kept from sketches"], rows) if rows else [])
            + (table(["model", "judge", "A → B", "B → A", "judge on real test images (A / B)"], translated)
               if translated else [])
            + (["", "```bash", *commands, "```"] if commands else []))


# ---------------------------------------------------------------------------------------------- the page

def group_of(family: str) -> str:
    return next((g for g, families in GROUPS.items() if family in families), "other")


def render(checkpoints: list[dict] | None = None) -> dict[str, str]:
    """Each group's generated block (the text between its markers)."""
    checkpoints = read_checkpoints() if checkpoints is None else checkpoints
    blocks = {}
    for group, families in GROUPS.items():
        members = [c for c in checkpoints if group_of(c["family"]) == group]
        order = list(families) + sorted({c["family"] for c in members} - set(families))
        lines: list[str] = []
        for family in order:
            entries = [c for c in members if c["family"] == family]
            if not entries:
                continue
            if len(order) > 1:
                lines += ["", f"**{FAMILY_TITLES.get(family, family)}**", ""]
            lines += TABLES.get(family, generic_table)(entries)
            lines += commands_block(entries)
            lines += judged_by_table(entries)
        body = "\n".join(lines).strip("\n") if lines else "_(no checkpoint of this kind in `checkpoints/`)_"
        blocks[group] = (f"<!-- generated by `{COMMAND}` from checkpoints/*/card.json: do not edit by hand -->\n"
                         f"{body}")
    return blocks


def markers(group: str) -> tuple[str, str]:
    return f"<!-- tables:{group}:begin -->", f"<!-- tables:{group}:end -->"


def extract(text: str, groups=GROUPS, mark=markers, page: Path = PAGE) -> dict[str, str]:
    """Each group's block as the page has it now."""
    out = {}
    for group in groups:
        begin, end = mark(group)
        m = re.search(re.escape(begin) + r"\n(.*?)\n?" + re.escape(end), text, flags=re.S)
        if m is None:
            raise ValueError(f"{page.name} lacks the markers {begin} ... {end}")
        out[group] = m.group(1)
    return out


def update(text: str, blocks: dict[str, str], mark=markers, page: Path = PAGE) -> str:
    """The page with every generated block replaced; the prose around them is kept as it is."""
    extract(text, blocks, mark, page)  # every block's markers are there
    for group, body in blocks.items():
        begin, end = mark(group)
        text = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: f"{begin}\n{body}\n{end}", text,
                      flags=re.S)
    return text


def rewrite(argv: list[str], page: Path, blocks: dict[str, str], mark, source: str, command: str) -> int:
    """Rewrite `page`'s generated blocks (or, with --check, exit 1 when they differ from `blocks`)."""
    text = page.read_text()
    new = update(text, blocks, mark, page)
    name = page.relative_to(ROOT)
    if "--check" in argv:
        if new != text:
            print(f"{name} is out of date with {source}: run `{command}`")
            return 1
        print(f"{name} matches {source}")
        return 0
    if new != text:
        page.write_text(new)
        print(f"rewrote the generated tables of {name}")
    else:
        print(f"{name} already matches {source}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return rewrite(sys.argv[1:] if argv is None else argv, PAGE, render(), markers, "checkpoints/*/card.json",
                   COMMAND)


if __name__ == "__main__":
    raise SystemExit(main())

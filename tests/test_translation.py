"""Pix2Pix and CycleGAN: the data we make, the networks, a few training steps that learn, translation."""

from __future__ import annotations

import csv

import pytest
import torch

from trainers.core import pairs


def test_edge_maps_outline_the_garment_and_vary_like_drawings():
    x = torch.zeros(4, 1, 16, 16)
    x[:, :, 4:12, 4:12] = 0.8  # a bright square on black
    sketch = pairs.edge_map(x)
    ink = sketch[0, 0] == 0
    assert ink[4, 4:12].all() and not ink[8, 8] and not ink[0, 0]  # its outline, not its inside or the background
    varied = pairs.edge_map(x, torch.Generator().manual_seed(0))
    assert not torch.equal(varied[0], varied[1]) or not torch.equal(varied[2], varied[3])  # thickness / gaps differ
    filled = pairs.silhouette(x)
    assert filled[0, 0, 4:12, 4:12].all() and filled[0, 0, 0, 0] == 0


@pytest.mark.parametrize("operator", list(pairs.EDGE_OPERATORS))
def test_every_sketch_style_draws_the_outline_and_nothing_far_from_it(operator):
    x = torch.zeros(1, 1, 32, 32)
    x[..., 8:24, 10:22] = 0.7
    x[..., 14:18, 12:20] = 0.2  # a dark band inside: detail that only the outline style leaves out
    ink = pairs.edge_map(x, operator=operator)[0, 0] == 0
    assert ink[8:24, 9:12].any(dim=1).all() and ink[8:24, 20:23].any(dim=1).all()  # both sides, every row
    assert not ink[:4].any() and not ink[:, :6].any()  # no ink far out in the background
    assert ink[14:18, 13:19].any() != (operator == "outline")  # inner detail: drawn by all but the outline
    if operator != "morphological":  # lines, not a filled shape (Canny's are one pixel wide)
        assert ink.sum() < (0.5 if operator == "canny" else 0.8) * (16 * 12)


def test_the_sketches_pairing_mixes_its_training_styles_and_holds_out_others(tiny_fashion):
    x = torch.rand(64, 1, 32, 32) * (torch.rand(64, 1, 1, 1) > 0)
    x[..., :4, :] = 0
    mixed = pairs.sketch(x, "sketches", torch.Generator().manual_seed(0))
    alone = {o: pairs.edge_map(x, operator=o) for o in pairs.EDGE_OPERATORS}
    assert set(pairs.TRAINING_STYLES).isdisjoint(pairs.HELD_OUT_STYLES)
    # each sketch is one of the training styles (up to its thickness and gaps): closest to a training style
    for i in range(8):
        best = min(alone, key=lambda o: (alone[o][i] != mixed[i]).float().mean())
        assert best in pairs.TRAINING_STYLES
    assert pairs.paired("sketches", "train", 16, str(tiny_fashion))[0]["A"].shape == (1, 16, 16)
    # a user's garment (no generator): one style, the same every call (a random one broke the app's determinism)
    assert torch.equal(pairs.sketch(x, "sketches"), pairs.edge_map(x, operator="sobel"))


def test_pix2pix_trains_on_the_sketch_styles_it_is_told_and_never_on_a_held_out_one(tiny_fashion):
    from trainers.core.errors import UserError
    from trainers.pix2pix import train as p2p

    x = torch.zeros(64, 1, 32, 32)  # garment-like: smooth shading on a black background
    x[..., 6:26, 6:26] = torch.nn.functional.interpolate(torch.rand(64, 1, 5, 5), size=20, mode="bilinear")
    alone = {o: pairs.edge_map(x, operator=o) for o in pairs.EDGE_OPERATORS}
    cfg = p2p.Config(pairing="sketches", sketch_styles="outline, marr_hildreth", data_dir=str(tiny_fashion))
    cfg.validate()
    mixed = pairs.sketch(x, "sketches", torch.Generator().manual_seed(0), cfg.styles())
    nearest = [min(alone, key=lambda o: (alone[o][i] != mixed[i]).float().mean()) for i in range(16)]
    assert set(nearest) == {"outline", "marr_hildreth"}  # both styles drawn, and only they
    for bad in ("sobel,canny", "roberts", "", "sobel,pencil"):
        with pytest.raises(UserError, match="sketch_styles"):
            p2p.Config(pairing="sketches", sketch_styles=bad).validate()
    assert p2p.Config().styles() == pairs.TRAINING_STYLES  # the default: what the shipped model trained on


def test_paired_and_unpaired_data_from_idx(tiny_fashion):
    edges = pairs.paired("edges", "train", 16, str(tiny_fashion))
    item = edges[0]
    assert item["A"].shape == item["B"].shape == (1, 16, 16) and item["A"].max() == 1 and item["B"].min() >= -1
    dom = pairs.unpaired("Sneaker", "Ankle boot", "train", 16, str(tiny_fashion))
    assert len(dom.a) == len(dom.b) > 0 and dom[3]["A"].shape == (1, 16, 16)
    with pytest.raises(pairs.UserError, match="unknown Fashion-MNIST class"):
        pairs.unpaired("Sneakers", "Ankle boot", "train", 16, str(tiny_fashion))
    with pytest.raises(pairs.UserError, match="share a class"):
        pairs.unpaired("Sneaker", "Sneaker+Bag", "train", 16, str(tiny_fashion))


def _fit(family, out, tiny_fashion, **options):
    from trainers import fit

    opts = {"out": str(out), "data_dir": str(tiny_fashion), "image_size": "16", "batch_size": "8", "device": "cpu",
            "log_every": "5", "sample_every": "1000", "ckpt_every": "1000", "monitor_n": "0", **options}
    return fit(family, opts)


def _losses(path, key):
    return [float(r[key]) for r in csv.DictReader(open(path / "log.csv"))]


def test_pix2pix_learns_and_translates(tmp_path, tiny_fashion):
    from trainers.core.checkpoint import load_model
    from trainers.pix2pix import train as P

    out = _fit("pix2pix", tmp_path / "p2p", tiny_fashion, ngf="8", ndf="8", d_layers="1", steps="60", lr="1e-3")
    l1 = _losses(out, "l1")
    assert sum(l1[-3:]) / 3 < 0.7 * sum(l1[:2]) / 2, l1  # the L1 term falls
    loaded = load_model(out)
    x = torch.randint(0, 256, (3, 1, 16, 16), dtype=torch.uint8)
    a = P.translate(loaded.cfg, loaded.modules, x, seed=1)
    b = P.translate(loaded.cfg, loaded.modules, x, seed=1)
    c = P.translate(loaded.cfg, loaded.modules, x, seed=2)
    mean = P.translate(loaded.cfg, loaded.modules, x, noise=False)
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)  # dropout is the noise z
    assert torch.equal(mean, P.translate(loaded.cfg, loaded.modules, x, noise=False))
    scores = P.patch_scores(loaded.cfg, loaded.modules, x, a)
    assert scores.shape[0] == 3 and scores.min() >= 0 and scores.max() <= 1
    with pytest.raises(P.UserError, match="one way"):
        P.translate(loaded.cfg, loaded.modules, x, "BtoA")
    with pytest.raises(P.UserError, match="takes 1x16x16"):
        P.translate(loaded.cfg, loaded.modules, torch.zeros(1, 1, 32, 32, dtype=torch.uint8))
    metrics = P.evaluate(loaded, n=50)
    assert 0 < metrics["test_l1"] < 1 and metrics["test_psnr_db"] > 0 and -1 <= metrics["test_ssim"] <= 1
    # the class kept from sketches of each style, the held-out ones included, beside the judge on real images
    for style in (*pairs.TRAINING_STYLES, *pairs.HELD_OUT_STYLES, "real"):
        key = "real_class_accuracy" if style == "real" else f"class_kept_{style}"
        assert 0 <= metrics[key] <= 1, key


def test_history_pool_fills_then_swaps():
    from trainers.cyclegan.models import Discriminators

    d = Discriminators(1, 8, 1, 8, pool_size=4)
    gen = torch.Generator().manual_seed(0)
    first = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 8, 8)
    assert torch.equal(d.from_pool(first, "A", gen), first) and int(d.pool_A_n) == 4  # filling: returned as is
    new = (100 + torch.arange(200.0)).view(200, 1, 1, 1).expand(200, 1, 8, 8)
    out = d.from_pool(new, "A", gen)
    from_history = (out[:, 0, 0, 0] != new[:, 0, 0, 0]).float().mean()
    assert 0.35 < from_history < 0.65  # about half of the fakes D sees are older ones
    assert set(out[:, 0, 0, 0].tolist()) <= set(new[:, 0, 0, 0].tolist()) | {0.0, 1.0, 2.0, 3.0}


def test_cyclegan_learns_and_translates_both_ways(tmp_path, tiny_fashion):
    from trainers.core.checkpoint import load_model
    from trainers.cyclegan import train as C

    out = _fit("cyclegan", tmp_path / "cg", tiny_fashion, ngf="8", n_blocks="1", ndf="8", d_layers="1", steps="40",
               lr="1e-3")
    cycle = _losses(out, "cycle")
    assert sum(cycle[-2:]) / 2 < 0.7 * cycle[0], cycle  # the cycle-consistency term falls
    loaded = load_model(out)
    x = torch.randint(0, 256, (2, 1, 16, 16), dtype=torch.uint8)
    assert C.translate(loaded.cfg, loaded.modules, x, "AtoB").shape == x.shape
    assert C.translate(loaded.cfg, loaded.modules, x, "BtoA").shape == x.shape
    with pytest.raises(C.UserError, match="AtoB or BtoA"):
        C.translate(loaded.cfg, loaded.modules, x, "sideways")
    metrics = C.evaluate(loaded, n=20)
    assert 0 <= metrics["a_to_b_in_target_class"] <= 1 and metrics["cycle_l1_a"] > 0 and metrics["a_to_b_fid"] >= 0


@pytest.mark.parametrize("family", ["cyclegan", "pix2pix"])
def test_a_translator_keeps_an_average_of_its_generator_that_translates_in_its_place(tmp_path, tiny_fashion, family):
    """--ema_decay: a run continued from a checkpoint without an average starts G_ema from its G, moves it by
    (1 - decay) of each update, and translates with it; without the option there is no G_ema (older checkpoints)."""
    from trainers.core.checkpoint import load_model
    from trainers.cyclegan import train as C
    from trainers.pix2pix import train as P

    small = dict(ngf="8", ndf="8", d_layers="1", lr="1e-3", fp16_weights="false")  # fp32 weights: exact
    small.update(n_blocks="1") if family == "cyclegan" else small.update(pairing="silhouette", channels_last="false")
    translate = (lambda cfg, modules, x: C.translate(cfg, modules, x, "AtoB")) if family == "cyclegan" else \
        (lambda cfg, modules, x: P.translate(cfg, modules, x, noise=False))
    parent = load_model(_fit(family, tmp_path / "plain", tiny_fashion, steps="3", **small))
    assert "G_ema" not in parent.modules
    child = load_model(_fit(family, tmp_path / "ema", tiny_fashion, steps="1", ema_decay="0.9",
                            init_from=str(tmp_path / "plain"), **small))
    before, after, ema = (m.state_dict() for m in (parent.modules["G"], child.modules["G"], child.modules["G_ema"]))
    moved = [k for k in before if before[k].is_floating_point() and "running" not in k
             and not torch.equal(before[k], after[k])]
    assert moved  # the one step changed G's weights
    for k in moved:  # theta_ema = 0.9 theta_parent + 0.1 theta_new
        torch.testing.assert_close(ema[k], torch.lerp(before[k], after[k], 0.1), atol=1e-6, rtol=1e-5)
    x = torch.randint(0, 256, (2, 1, 16, 16), dtype=torch.uint8)
    by_ema = translate(child.cfg, {"G": child.modules["G_ema"]}, x)
    by_g = translate(child.cfg, {"G": child.modules["G"]}, x)
    assert torch.equal(translate(child.cfg, child.modules, x), by_ema) and not torch.equal(by_ema, by_g)
    with pytest.raises(pairs.UserError, match="ema_decay"):
        _fit(family, tmp_path / "bad", tiny_fashion, steps="1", ema_decay="1", **small)


def test_sketch_drawings_show_one_garment_in_several_drawings_over_the_epochs(tiny_fashion):
    from trainers.core.errors import UserError
    from trainers.pix2pix import train as p2p

    once = pairs.paired("sketches", "train", 16, str(tiny_fashion))
    thrice = pairs.paired("sketches", "train", 16, str(tiny_fashion), drawings=3)
    assert torch.equal(once.a, thrice.a) and thrice.redraws.shape == (2, *once.a.shape)  # the first drawing unchanged
    assert once.redraws is None and all(torch.equal(once[i]["A"], once[i]["A"]) for i in range(4))
    all_drawings = torch.cat([thrice.a[None], thrice.redraws])  # (3, N, 1, H, W)
    differ = [i for i in range(len(once)) if len({d.numpy().tobytes() for d in all_drawings[:, i]}) == 3]
    assert len(differ) > len(once) // 2  # most garments get three different drawings (style, thickness or gaps)
    i = differ[0]
    torch.manual_seed(0)
    reads = torch.stack([thrice[i]["A"] for _ in range(30)])
    drawings = all_drawings[:, i].float() / 127.5 - 1
    seen = {int(((drawings - r).abs().flatten(1).sum(1) == 0).nonzero()[0]) for r in reads}
    assert seen == {0, 1, 2}  # every read is one of the drawings, and each drawing is read
    assert all(torch.equal(thrice[0]["B"], once[0]["B"]) for _ in range(3))  # the garment side never changes
    with pytest.raises(UserError, match="sketch_drawings"):
        p2p.Config(pairing="sketches", sketch_drawings=0).validate()

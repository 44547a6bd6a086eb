"""Train-live rows: frames per second of the 2-D lab's play stream, and the cost of drawing one frame."""

from __future__ import annotations

import time


def bench_lab(repeats: int) -> list[dict]:
    from playground import lab as tab
    from trainers.gan import toy2d

    rows = []
    for preset in list(tab.PRESETS)[:2]:
        lab = toy2d.Lab(tab.settings(*tab.PRESETS[preset]))
        lab.run(20)
        t_step, t_views = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            lab.run(1)
            t_step.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            tab.views(lab)
            t_views.append(time.perf_counter() - t0)
        stream = tab.play(lab, None, *tab.PRESETS[preset])
        next(stream)
        t0, frames = time.perf_counter(), 0
        while time.perf_counter() - t0 < 3.0:
            next(stream)
            frames += 1
        stream.close()
        fps = frames / (time.perf_counter() - t0)
        step, views = sorted(t_step)[len(t_step) // 2], sorted(t_views)[len(t_views) // 2]
        rows.append({"name": f"lab.play ({tab.PRESETS[preset][1]})", "unit": "frames/s", "ours": fps,
                     "reference": 1 / (tab.FRAME_TRAIN_S + views), "ratio": fps * (tab.FRAME_TRAIN_S + views),
                     "reference_is": f"1 / ({tab.FRAME_TRAIN_S:.2f} s training + {views * 1e3:.0f} ms drawing); "
                                     f"one train step {step * 1e3:.1f} ms"})
    return rows

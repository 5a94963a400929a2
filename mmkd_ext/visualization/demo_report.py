# Copyright (c) mmkd_ext contributors. All rights reserved.
"""What ``tools/demo.py`` leaves to look at, and where it leaves it.

``tools/demo.py --work-dir DIR`` trains each model in ``DIR/{run name}``:
``teacher``, ``student`` (the student alone, :data:`STUDENT_ALONE_RUN`) and
``student+{method}`` (the distilled student), each saving
``epoch_{N}.pth``. :func:`plot_runs` draws their metrics and per-epoch
training losses in one PNG; :func:`student_alone_checkpoint` finds the
student-alone checkpoint beside a distilled run's checkpoint (the optional
column of ``tools/vis_features.py``).
"""
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from .training_log import TASK_LOSS, epoch_losses, load_train_scalars

#: The demo's run of the student trained without distillation.
STUDENT_ALONE_RUN = 'student'


def student_alone_checkpoint(checkpoint: str) -> Optional[str]:
    """The demo's student-alone checkpoint beside a distilled run's one.

    For ``DIR/student+cankd/epoch_24.pth`` this is
    ``DIR/student/epoch_24.pth`` (the same epoch) if it exists, else the
    checkpoint that ``DIR/student/last_checkpoint`` names (mmengine's
    pointer to the run's latest), else None.
    """
    run_dir = osp.dirname(osp.abspath(checkpoint))
    alone = osp.join(osp.dirname(run_dir), STUDENT_ALONE_RUN)
    if alone == run_dir or not osp.isdir(alone):
        return None
    same_epoch = osp.join(alone, osp.basename(checkpoint))
    if osp.isfile(same_epoch):
        return same_epoch
    pointer = osp.join(alone, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            last = f.read().strip()
        # mmengine writes the path as the run saw it; the file may have
        # moved with the work dir since.
        for path in (last, osp.join(alone, osp.basename(last))):
            if last and osp.isfile(path):
                return path
    return None


def _bar_label(value: float) -> str:
    return 'n/a' if math.isnan(value) else f'{value:.3f}'


def plot_runs(runs: Sequence[Dict],
              out_file: str,
              title: Optional[str] = None) -> str:
    """One PNG: the runs' metrics, task losses and distillation terms.

    Three panels: the metrics as grouped bars (value on each bar; NaN shows
    as 'n/a'), the task loss per epoch of every run (the model's own
    losses; a distilled student's without the distillation terms), and each
    distillation term per epoch of the distillation runs (read from the
    runs' logs, :func:`~.training_log.epoch_losses`). A run keeps its colour
    in all panels; its distillation terms differ by line style.

    Args:
        runs (Sequence[dict]): Per model ``name``, ``work_dir`` (the run's
            mmengine work dir) and ``metrics`` (label -> value, e.g.
            ``{'bbox mAP': 0.41}``).
        out_file (str): The PNG to write.
        title (str, optional): The figure's title.

    Returns:
        str: ``out_file``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if not runs:
        raise ValueError('plot_runs needs at least one run')
    losses = {r['name']: epoch_losses(load_train_scalars(r['work_dir']))
              for r in runs}
    labels: List[str] = []
    for r in runs:
        labels += [k for k in r['metrics'] if k not in labels]

    palette = plt.rcParams['axes.prop_cycle'].by_key()['color']
    colors = {r['name']: palette[i % len(palette)] for i, r in enumerate(runs)}
    fig, (ax_m, ax_t, ax_d) = plt.subplots(1, 3, figsize=(16, 4.6))
    width = 0.8 / len(runs)
    for i, r in enumerate(runs):
        values = [float(r['metrics'].get(k, math.nan)) for k in labels]
        xs = [j + (i - (len(runs) - 1) / 2) * width
              for j in range(len(labels))]
        bars = ax_m.bar(xs, [0 if math.isnan(v) else v for v in values],
                        width, label=r['name'], color=colors[r['name']])
        ax_m.bar_label(bars, [_bar_label(v) for v in values], fontsize=7)
    ax_m.set_xticks(range(len(labels)), labels)
    ax_m.set_title('metrics (val)')
    ax_m.set_ylim(bottom=0)
    ax_m.legend(fontsize=8)
    ax_m.grid(axis='y', alpha=0.3)

    for r in runs:
        task = losses[r['name']].get(TASK_LOSS, {})
        ax_t.plot(list(task), list(task.values()), marker='.',
                  label=r['name'], color=colors[r['name']])
    ax_t.set_title("task loss (each model's own losses)")

    styles = ('-', '--', ':', '-.')
    markers = ('.', 'x', '+', '^', 's')
    terms = 0
    for r in runs:
        curves = [(t, c) for t, c in losses[r['name']].items()
                  if t != TASK_LOSS]
        for i, (term, curve) in enumerate(curves):
            terms += 1
            ax_d.plot(list(curve), list(curve.values()),
                      ls=styles[i % len(styles)],
                      marker=markers[i // len(styles) % len(markers)],
                      color=colors[r['name']], label=f"{r['name']}: {term}")
    ax_d.set_title('distillation terms')
    if not terms:
        ax_d.text(0.5, 0.5, 'no distillation run', ha='center',
                  va='center', transform=ax_d.transAxes)
    for ax in (ax_t, ax_d):
        ax.set_xlabel('epoch')
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel('loss (epoch mean of the logged values)')
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return out_file

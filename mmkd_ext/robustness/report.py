# Copyright (c) mmkd_ext contributors. All rights reserved.
r"""The robustness summary: mPC, rPC, a markdown / JSON table and a plot.

Following Michaelis et al. (2019), with :math:`P_{c,s}` the metric (AP for
detection, mIoU for segmentation, top-1 accuracy for classification, in
percent) on corruption :math:`c` at
severity :math:`s` and :math:`P_{clean}` the metric on the clean set:

.. math::

    \mathrm{mPC} = \frac{1}{N_c N_s} \sum_{c} \sum_{s} P_{c,s}, \qquad
    \mathrm{rPC} = \frac{\mathrm{mPC}}{P_{clean}}

over the evaluated benchmark corruptions (the held-out corruptions
``speckle_noise``, ``gaussian_blur``, ``spatter``, ``saturate`` are reported
but, as in the papers, not averaged into mPC unless nothing else was
evaluated). The papers' numbers use all 15 corruptions x 5 severities;
``complete`` in the summary says whether this run did.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from .corruptions import (
    BENCHMARK_CORRUPTIONS,
    CORRUPTION_FAMILIES,
    SEVERITIES,
    family_of,
)

_UNIT = dict(det='AP', seg='mIoU', cls='top1')


def load_results(results_dir: str, names: Sequence[str]) -> List[Dict]:
    """The stored per-condition records ``{results_dir}/{name}.json``."""
    records = []
    for name in names:
        path = osp.join(results_dir, f'{name}.json')
        if not osp.isfile(path):
            raise FileNotFoundError(f'missing result {path}')
        with open(path) as f:
            records.append(json.load(f))
    return records


def compute_summary(records: Sequence[Dict]) -> Dict:
    """mPC, rPC and the per-corruption / per-family tables.

    Args:
        records (Sequence[dict]): Per-condition results with ``corruption``,
            ``severity`` (0 for clean) and ``score`` (percent).

    Returns:
        dict: ``clean``, ``mPC``, ``rPC`` (percent; None without a clean
        result or a non-positive clean score), ``corruptions`` (name ->
        {severity: score, 'mean': ...}), ``families`` (family -> mean),
        ``severities``, ``complete``.
    """
    clean = None
    table: Dict[str, Dict] = {}
    for rec in records:
        if rec['severity'] == 0:
            clean = float(rec['score'])
        else:
            table.setdefault(rec['corruption'], {})[int(
                rec['severity'])] = float(rec['score'])
    for scores in table.values():
        scores['mean'] = sum(scores.values()) / len(scores)
    in_mpc = [c for c in table if c in BENCHMARK_CORRUPTIONS] or list(table)
    values = [
        v for c in in_mpc for s, v in table[c].items() if s != 'mean'
    ]
    mpc = sum(values) / len(values) if values else None
    rpc = (100.0 * mpc / clean
           if mpc is not None and clean is not None and clean > 0 else None)
    families: Dict[str, List[float]] = {}
    for c, scores in table.items():
        families.setdefault(family_of(c), []).extend(
            v for s, v in scores.items() if s != 'mean')
    severities = sorted({
        s
        for scores in table.values() for s in scores if s != 'mean'
    })
    complete = set(in_mpc) == set(BENCHMARK_CORRUPTIONS) and all(
        set(SEVERITIES) <= set(table[c]) for c in in_mpc)
    return dict(
        clean=clean,
        mPC=mpc,
        rPC=rpc,
        corruptions={
            c: {str(k): v
                for k, v in scores.items()}
            for c, scores in table.items()
        },
        families={f: sum(v) / len(v)
                  for f, v in families.items()},
        mpc_corruptions=in_mpc,
        severities=severities,
        complete=complete)


def _fmt(value: Optional[float]) -> str:
    """A score as the table and the plot show it: two decimals."""
    return '-' if value is None else f'{value:.2f}'


def markdown_table(summary: Dict) -> str:
    """The summary as markdown: one row per corruption, then the totals."""
    unit = summary.get('unit', 'score')
    sev = summary['severities']
    head = ['corruption', 'family'] + [f's{s}' for s in sev] + ['mean']
    lines = [
        '| ' + ' | '.join(head) + ' |',
        '|' + '---|' * len(head),
    ]
    for c, scores in summary['corruptions'].items():
        cells = [c, family_of(c)] + [
            _fmt(scores.get(str(s))) for s in sev
        ] + [_fmt(scores['mean'])]
        lines.append('| ' + ' | '.join(cells) + ' |')
    rpc = summary['rPC']
    lines += [
        '',
        f'| clean {unit} | mPC | rPC (%) |',
        '|---|---|---|',
        f"| {_fmt(summary['clean'])} | {_fmt(summary['mPC'])} | "
        f'{_fmt(rpc)} |',
    ]
    if not summary['complete']:
        lines += [
            '',
            f"mPC over {len(summary['mpc_corruptions'])} corruption(s) x "
            f"{len(sev)} severity(ies): not the full 15 x 5 benchmark."
        ]
    return '\n'.join(lines) + '\n'


def plot_summary(summary: Dict, out_file: str) -> None:
    """AP (or mIoU) vs severity, one panel per corruption family.

    Severity 0 is the clean score; the dashed line is mPC.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    unit = summary.get('unit', 'score')
    order = list(CORRUPTION_FAMILIES) + ['holdout']
    fams = [
        f for f in order
        if any(family_of(c) == f for c in summary['corruptions'])
    ]
    fig, axes = plt.subplots(
        1, len(fams), figsize=(3.6 * len(fams), 3.4), sharey=True,
        squeeze=False)
    for ax, fam in zip(axes[0], fams):
        for c, scores in summary['corruptions'].items():
            if family_of(c) != fam:
                continue
            xs = sorted(int(s) for s in scores if s != 'mean')
            ys = [scores[str(s)] for s in xs]
            if summary['clean'] is not None:
                xs, ys = [0] + xs, [summary['clean']] + ys
            ax.plot(xs, ys, marker='o', label=c)
        if summary['mPC'] is not None:
            ax.axhline(summary['mPC'], color='gray', ls='--', lw=1,
                       label=f"mPC {_fmt(summary['mPC'])}")
        ax.set_title(fam)
        ax.set_xlabel('severity (0 = clean)')
        ax.set_xticks(range(0, 6))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel(unit)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def summarize(records: Sequence[Dict],
              out_dir: str,
              task: str = 'det',
              metric: str = 'coco/bbox_mAP',
              meta: Optional[Dict] = None) -> Dict:
    """Write ``summary.json``, ``summary.md`` and ``{unit}_vs_severity.png``.

    Returns:
        dict: The summary, with the paths of the written files.
    """
    summary = compute_summary(records)
    summary.update(task=task, metric=metric, unit=_UNIT.get(task, metric))
    summary.update(meta or {})
    os.makedirs(out_dir, exist_ok=True)
    files = dict(
        json=osp.join(out_dir, 'summary.json'),
        markdown=osp.join(out_dir, 'summary.md'),
        plot=osp.join(out_dir, f"{summary['unit']}_vs_severity.png"))
    with open(files['markdown'], 'w') as f:
        f.write(markdown_table(summary))
    if summary['corruptions']:
        plot_summary(summary, files['plot'])
    else:
        files.pop('plot')
    summary['files'] = files
    with open(files['json'], 'w') as f:
        json.dump(summary, f, indent=1)
    return summary

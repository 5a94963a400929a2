# Copyright (c) mmkd_ext contributors. All rights reserved.
"""the effectiveness grid's outputs: JSON, markdown table and bar charts.

Per family, every method's metric over the seeds (mean +- sample std), its
gain over the student alone and whether the gain exceeds the seed spread:
Welch's two-sample t-test (unequal variances, two-sided) of the method's
seeds against the student-alone seeds, at p < :data:`ALPHA`.
"""
import json
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from .grid import METRIC_SCALE, STUDENT, TEACHER

ALPHA = 0.05


def welch_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of Welch's t-test of ``a`` against ``b`` (nan when
    either has fewer than 2 values; 1 or 0 when both have no spread)."""
    from scipy.stats import ttest_ind
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if np.std(a) == 0 and np.std(b) == 0:
        return 1.0 if np.mean(a) == np.mean(b) else 0.0
    return float(ttest_ind(a, b, equal_var=False).pvalue)


def summarize(results: List[Dict]) -> List[Dict]:
    """One row per (task, family, method): seeds, mean, std, gain over the
    student alone, Welch p-value and verdict, in the order of ``results``.
    """
    groups: Dict[tuple, List[Dict]] = {}
    for r in results:
        groups.setdefault((r['task'], r['family'], r['method']), []).append(r)
    rows = []
    for (task, family, method), runs in groups.items():
        values = [r['value'] for r in sorted(runs, key=lambda r: r['seed'])]
        base = [
            r['value'] for r in groups.get((task, family, STUDENT), [])
        ]
        row = dict(
            task=task,
            family=family,
            method=method,
            metric=runs[0]['metric'],
            seeds=len(values),
            values=values,
            mean=float(np.mean(values)),
            std=float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            train_s=float(np.mean([r['train_s'] for r in runs])))
        if method not in (STUDENT, TEACHER) and base:
            row['gain'] = row['mean'] - float(np.mean(base))
            row['p'] = welch_p(values, base)
            significant = row['p'] < ALPHA
            row['verdict'] = (
                'untested (< 2 seeds)' if math.isnan(row['p']) else
                'helps' if significant and row['gain'] > 0 else
                'hurts' if significant else 'within spread')
        rows.append(row)
    return rows


def markdown(rows: List[Dict]) -> str:
    """The table (one section per family)."""
    lines = []
    for key in dict.fromkeys((r['task'], r['family']) for r in rows):
        part = [r for r in rows if (r['task'], r['family']) == key]
        metric = part[0]['metric']
        scale = METRIC_SCALE.get(metric, 1)
        unit = f', x{scale}' if scale != 1 else ''
        lines += [
            f'### {key[0]} / {key[1]} ({metric}{unit})', '',
            f'| method | seeds | {metric} mean +- std | gain vs student | '
            f"Welch's t p | beyond the seed spread (Welch p < {ALPHA}) | "
            'train time (s) |', '|---|---|---|---|---|---|---|'
        ]
        for r in part:
            gain = (f'{r["gain"] * scale:+.2f}' if 'gain' in r else '')
            p = f'{r["p"]:.3f}' if 'p' in r else ''
            lines.append(
                f'| {r["method"]} | {r["seeds"]} | {r["mean"] * scale:.2f} '
                f'+- {r["std"] * scale:.2f} | {gain} | {p} | '
                f'{r.get("verdict", "")} | {r["train_s"]:.0f} |')
        lines.append('')
    return '\n'.join(lines)


def _level(row: Optional[Dict], scale: float) -> str:
    """``mean +- std`` of a summary row (``-`` when absent)."""
    if row is None:
        return '-'
    text = f'{row["mean"] * scale:.2f}'
    return text + (f' +- {row["std"] * scale:.2f}' if row['seeds'] > 1 else '')


def summary_table(rows: List[Dict]) -> str:
    """One line per family: teacher / student alone (mean +- std) and every
    method's gain over the student alone, largest first; **bold**: helps,
    *italic*: hurts (Welch p < :data:`ALPHA`)."""
    lines = [
        '| family (metric) | teacher / student alone | gains over the '
        'student alone |', '|---|---|---|'
    ]
    for key in dict.fromkeys((r['task'], r['family']) for r in rows):
        part = {r['method']: r for r in rows
                if (r['task'], r['family']) == key}
        metric = next(iter(part.values()))['metric']
        scale = METRIC_SCALE.get(metric, 1)
        unit = f' x{scale}' if scale != 1 else ''
        gains = []
        for r in sorted((r for r in part.values() if 'gain' in r),
                        key=lambda r: -r['gain']):
            mark = {'helps': '**', 'hurts': '*'}.get(r['verdict'], '')
            gains.append(
                f'{mark}{r["method"]} {r["gain"] * scale:+.2f}{mark}')
        lines.append(
            f'| {key[0]} / {key[1]} ({metric}{unit}) | '
            f'{_level(part.get(TEACHER), scale)} / '
            f'{_level(part.get(STUDENT), scale)} | {", ".join(gains)} |')
    return '\n'.join(lines) + '\n'


def bar_chart(rows: List[Dict], task: str, path: str) -> None:
    """Bars (mean, error bar = std over seeds) of every method of ``task``,
    the student-alone mean as a dashed line, one panel per family."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fams = list(dict.fromkeys(r['family'] for r in rows if r['task'] == task))
    fig, axes = plt.subplots(
        len(fams), 1, figsize=(8, 3.2 * len(fams)), squeeze=False)
    for ax, fam in zip(axes[:, 0], fams):
        part = [r for r in rows if r['task'] == task and r['family'] == fam]
        x = np.arange(len(part))
        colors = [
            'tab:gray' if r['method'] in (STUDENT, TEACHER) else
            'tab:green' if r.get('verdict') == 'helps' else
            'tab:red' if r.get('verdict') == 'hurts' else 'tab:blue'
            for r in part
        ]
        ax.bar(x, [r['mean'] for r in part],
               yerr=[r['std'] for r in part], color=colors, capsize=3)
        for r in part:
            if r['method'] == STUDENT:
                ax.axhline(r['mean'], color='k', ls='--', lw=0.8)
        ax.set_xticks(x)
        ax.set_xticklabels([r['method'] for r in part], rotation=45,
                           ha='right')
        ax.set_ylabel(part[0]['metric'])
        ax.set_title(f'{task} / {fam}: mean +- std over seeds (green: '
                     f'Welch p < {ALPHA} gain)')
        values = [r['mean'] - r['std'] for r in part]
        ax.set_ylim(bottom=max(0.0, min(values) - 0.05 * abs(min(values))))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_outputs(results: List[Dict], out_dir: str) -> Dict[str, str]:
    """``results.json`` (every run and the summary), ``results.md`` and
    ``<task>.png`` per task in ``out_dir``; returns their paths."""
    rows = summarize(results)
    paths = dict(
        json=osp.join(out_dir, 'results.json'),
        md=osp.join(out_dir, 'results.md'))
    with open(paths['json'], 'w') as f:
        json.dump(dict(runs=results, summary=rows), f, indent=1)
    with open(paths['md'], 'w') as f:
        f.write('## Summary\n\n' + summary_table(rows) + '\n' +
                markdown(rows))
    for task in dict.fromkeys(r['task'] for r in rows):
        paths[task] = osp.join(out_dir, f'{task}.png')
        bar_chart(rows, task, paths[task])
    return paths

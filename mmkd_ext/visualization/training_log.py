# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Per-epoch training losses from the scalar logs mmengine writes.

mmengine's ``LoggerHook`` appends one JSON line per logged training
iteration to ``{work_dir}/{timestamp}/vis_data/scalars.json`` (the
``LocalVisBackend`` file; ``{timestamp}.json`` beside it holds the same
lines). A training line carries ``epoch``, ``iter`` and every loss of the
model's loss dict, each the mean over the ``LogProcessor`` window of the
iterations before it, and ``loss``, their total. A distillation run of
mmrazor logs the student's task losses with the prefix ``student.`` and the
distillation terms with ``distill.``.
"""
import glob
import json
import os.path as osp
from collections import defaultdict
from typing import Dict, List

#: The name :func:`epoch_losses` gives the student's task loss.
TASK_LOSS = 'task'
DISTILL_PREFIX = 'distill.'


def load_train_scalars(work_dir: str) -> List[Dict]:
    """The training lines of the latest run logged in ``work_dir``.

    The latest run is the newest ``{timestamp}`` folder (mmengine's
    ``%Y%m%d_%H%M%S``, which sorts by time) whose ``vis_data/scalars.json``
    has training lines; a test-only run after it (e.g. ``tools/test.py``
    with the same work dir) is skipped.

    Raises:
        FileNotFoundError: No scalar log with training lines in
            ``work_dir``.
        ValueError: A line is not JSON, or ``iter`` goes back: the file
            holds the lines of several runs (Runners of one process that
            share a visualizer name all log into the first one's file).
    """
    pattern = osp.join(work_dir, '*', 'vis_data', 'scalars.json')
    for path in sorted(glob.glob(pattern), reverse=True):
        records = []
        with open(path) as f:
            for num, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(
                        f'{path}:{num} is not a JSON line ({err})') from err
                if 'epoch' not in rec or 'loss' not in rec:
                    continue
                if records and rec['iter'] <= records[-1]['iter']:
                    raise ValueError(
                        f"{path}:{num}: iter {rec['iter']} after "
                        f"{records[-1]['iter']}: the file holds the lines of "
                        'more than one training run (Runners of one process '
                        'sharing a visualizer name; give each its own '
                        '`visualizer.name`)')
                records.append(rec)
        if records:
            return records
    raise FileNotFoundError(
        f'no training log in {work_dir} (looked for {pattern} with lines '
        "holding 'epoch' and 'loss')")


def _is_loss(key: str) -> bool:
    # mmengine's BaseModel.parse_losses sums every key containing 'loss'.
    return 'loss' in key and key != 'loss'


def epoch_losses(records: List[Dict]) -> Dict[str, Dict[int, float]]:
    """Per-epoch means of the task loss and of each distillation term.

    Args:
        records (list[dict]): Training lines (:func:`load_train_scalars`).

    Returns:
        dict: ``{name: {epoch: mean over the epoch's logged lines}}`` with
        :data:`TASK_LOSS` the sum of the model's own losses (every loss
        but the total, the ``distill.*`` terms and a trained teacher's
        ``teacher.*`` losses: a distilled student's ``student.*``) and one
        entry per ``distill.*`` term, named without the prefix. These are
        the epochs' mean losses when the ``LogProcessor`` window equals the
        logger interval and the interval divides the epoch's iterations
        (the demo configs); otherwise means of windows that may straddle
        epochs.
    """
    sums: Dict[str, Dict[int, float]] = defaultdict(lambda: defaultdict(
        float))
    counts: Dict[str, Dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for rec in records:
        epoch = int(rec['epoch'])
        line: Dict[str, float] = defaultdict(float)
        for key, value in rec.items():
            if not _is_loss(key) or key.startswith('teacher.'):
                continue
            name = key[len(DISTILL_PREFIX):] if key.startswith(
                DISTILL_PREFIX) else TASK_LOSS
            line[name] += float(value)
        for name, value in line.items():
            sums[name][epoch] += value
            counts[name][epoch] += 1
    return {
        name: {e: total / counts[name][e]
               for e, total in sorted(per_epoch.items())}
        for name, per_epoch in sums.items()
    }

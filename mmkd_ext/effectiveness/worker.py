# Copyright (c) mmkd_ext contributors. All rights reserved.
"""One run of the effectiveness grid, in its own process.

``python -m mmkd_ext.effectiveness.worker RUN_JSON`` reads the run's spec
(written by :mod:`mmkd_ext.effectiveness.harness`) and either

* trains the config through mmengine's Runner with
  ``randomness=dict(seed=..., deterministic=...)``, the student initialised
  from the seed alone (re-seeded just before its ``init_weights``, so that
  the student-alone run and every method start from the same weights),
  tests it and writes ``metrics.json`` last (a run without it is
  unfinished); a teacher run also writes its weights (``teacher.pth``); or
* (``"kind": "letkd"``) computes the letKD targets file of a config from the
  trained teacher (:class:`mmkd_ext.letkd.prepare.LetKDPreparer`).

A process per run isolates registries, the default scope and global state.
"""
import json
import os
import os.path as osp
import sys
import time
from typing import Dict

import torch
from mmengine.config import Config

from .grid import METRICS_FILE


def _atomic_json(obj: Dict, path: str) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def _replace_value(node, old: str, new: str):
    """``node`` with every string equal to ``old`` replaced by ``new``."""
    if isinstance(node, dict):
        return type(node)({k: _replace_value(v, old, new)
                           for k, v in node.items()})
    if isinstance(node, (list, tuple)):
        return type(node)(_replace_value(v, old, new) for v in node)
    return new if node == old else node


def load_config(spec: Dict) -> Config:
    """The run's config with its options, work dir and randomness; no
    validation during training (the run is tested once at the end) and no
    checkpoints.

    A new ``model.teacher_ckpt`` also replaces every other use of the
    config's own teacher checkpoint in ``model`` (e.g. CanKD-dagger's
    ``init_cfg`` loading the student's FPN and head from the teacher).
    """
    cfg = Config.fromfile(spec['config'])
    options = dict(spec.get('options', {}))
    old, new = cfg.model.get('teacher_ckpt'), options.get('model.teacher_ckpt')
    if old and new:
        cfg.model = _replace_value(cfg.model.to_dict(), old, new)
    cfg.merge_from_dict(options)
    cfg.work_dir = spec['work_dir']
    cfg.randomness = dict(
        seed=spec['seed'], deterministic=spec.get('deterministic', True))
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = None
    return cfg


def metric_value(metrics: Dict, key: str) -> float:
    """``metrics[key]``; 0 when the evaluator returned nothing (mmdet's
    CocoMetric returns no metric when the detector kept no box)."""
    if not metrics:
        return 0.0
    if key not in metrics:
        raise KeyError(f'the test metrics have no {key!r} (the metric of '
                       f'the grid family): {sorted(metrics)}')
    return float(metrics[key])


def train_and_test(spec: Dict) -> Dict:
    """Train and test one config; returns (and writes) its metrics."""
    from mmengine.runner import Runner
    cfg = load_config(spec)
    runner = Runner.from_cfg(cfg)
    model = runner.model
    student = getattr(model, 'architecture', model)
    torch.manual_seed(spec['seed'])
    student.init_weights()
    start, cpu = time.time(), time.process_time()
    runner.train()
    train_s, train_cpu_s = time.time() - start, time.process_time() - cpu
    start = time.time()
    metrics = runner.test()
    test_s = time.time() - start
    if spec.get('save_weights'):
        torch.save(dict(state_dict=model.state_dict()), spec['save_weights'])
    out = dict(
        {k: spec[k]
         for k in ('task', 'family', 'method', 'seed', 'config', 'metric')},
        value=metric_value(metrics, spec['metric']),
        metrics={k: float(v)
                 for k, v in metrics.items()},
        train_s=train_s,
        test_s=test_s,
        # CPU seconds of all threads: on a loaded machine they estimate the
        # cost better than the wall time.
        train_cpu_s=train_cpu_s,
        process_cpu_s=time.process_time())
    _atomic_json(out, osp.join(spec['work_dir'], METRICS_FILE))
    return out


def prepare_letkd(spec: Dict) -> str:
    """Write the letKD targets file of the run's config."""
    from mmkd_ext.letkd.prepare import LetKDPreparer
    cfg = Config.fromfile(spec['config'])
    cfg.merge_from_dict(spec.get('options', {}))
    return LetKDPreparer(cfg, spec['work_dir'], seed=spec['seed']).run()


def main() -> None:
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    if spec.get('kind') == 'letkd':
        prepare_letkd(spec)
    else:
        train_and_test(spec)


if __name__ == '__main__':
    main()

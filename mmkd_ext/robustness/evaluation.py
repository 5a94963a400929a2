# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Robustness benchmark runs: COCO-C (detection), Cityscapes-C
(segmentation) and, with the same corruptions, ImageNet-C-style top-1
accuracy (classification), on the fly.

:class:`RobustnessBenchmark` evaluates one model (the student of a
distillation config, or a plain model) on the clean test set and on every
selected (corruption, severity), with the config's own test dataloader,
evaluator and mmengine's ``TestLoop``: the corruption is a transform
(:class:`~mmkd_ext.robustness.ImageCorruption`) inserted right after
``LoadImageFromFile`` in the test pipeline. It runs under any mmengine
launcher (``--launcher pytorch`` with torchrun: every process takes its
share of the images and the evaluator gathers the predictions).

Every (corruption, severity) result is written to
``{work_dir}/results/{corruption}_s{severity}.json`` (``clean.json``) as
soon as it is computed, with a fingerprint of the checkpoint, model, test
pipeline, evaluator, data and seed; a new run skips the conditions whose
result file exists with the same fingerprint, so an interrupted run resumes
where it stopped. At the end :func:`~mmkd_ext.robustness.summarize` writes
the table and the plot.

Everything that can be checked is checked before any image is processed:
corruption names and severities, the dataset files and folders, the
evaluator's annotation file, and that the checkpoint's state dict matches
the model (same keys, same shapes).
"""
import copy
import hashlib
import json
import numbers
import os.path as osp
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config, ConfigDict
from mmengine.dataset import Compose
from mmengine.dist import broadcast_object_list, get_dist_info, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import DATASETS
from mmengine.runner import Runner, TestLoop
from mmengine.utils import ProgressBar

from mmkd_ext.engine import preflight_check, setup_distributed
from mmkd_ext.utils import (
    check_state_dict,
    file_sha256,
    is_distill_config,
    json_dump_atomically,
    load_state_dict,
    pipeline_dataset,
    student_config,
)

from .corruptions import check_severities, resolve_corruptions
from .report import load_results, summarize

#: Per task: the default metric key and the factor that puts it in percent.
TASKS: Dict[str, Tuple[str, float]] = {
    'det': ('coco/bbox_mAP', 100.0),
    'seg': ('mIoU', 1.0),
    'cls': ('accuracy/top1', 1.0),
}
CLEAN = 'clean'


@dataclass(frozen=True)
class Condition:
    """One evaluation condition; severity 0 is the clean test set."""
    corruption: str
    severity: int

    @property
    def name(self) -> str:
        """``clean`` or ``{corruption}_s{severity}``."""
        if self.severity == 0:
            return CLEAN
        return f'{self.corruption}_s{self.severity}'


def plan_conditions(corruptions: Sequence[str],
                    severities: Sequence[int]) -> List[Condition]:
    """Clean first, then every corruption at every severity."""
    return [Condition(CLEAN, 0)] + [
        Condition(c, s) for c in corruptions for s in severities
    ]


def infer_task(cfg: Config) -> str:
    """'det', 'seg' or 'cls' from the (student) model config."""
    scope = cfg.get('default_scope')
    model = cfg.model
    if scope == 'mmseg' or 'decode_head' in model:
        return 'seg'
    if scope == 'mmdet' or any(
            k in model for k in ('bbox_head', 'roi_head', 'rpn_head')):
        return 'det'
    if scope == 'mmpretrain' or model.get('type') == 'ImageClassifier':
        return 'cls'
    raise ValueError(
        f'cannot infer the task from the config (default_scope={scope!r}, '
        f'model type {model.get("type")!r}); pass --task det, seg or cls')


def insert_corruption(pipeline: Sequence[Dict],
                      transform: Dict) -> List[Dict]:
    """``pipeline`` with ``transform`` right after the image loader."""
    pipeline = [copy.deepcopy(t) for t in pipeline]
    for i, t in enumerate(pipeline):
        if 'LoadImageFrom' in str(t.get('type', '')):
            return pipeline[:i + 1] + [transform] + pipeline[i + 1:]
    types = [t.get('type') for t in pipeline]
    raise ValueError('the test pipeline has no LoadImageFromFile step to '
                     f'insert the corruption after: {types}')


def _pretty(value) -> str:
    if isinstance(value, ConfigDict):
        value = value.to_dict()
    return json.dumps(value, sort_keys=True, default=str)


class _ProgressHook(Hook):
    """Advances a progress bar (main process) after every test iteration."""

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self.bar: Optional[ProgressBar] = None

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        if self.bar is not None:
            self.bar.update()


class RobustnessBenchmark:
    """Evaluate a model on clean and corrupted test sets.

    Args:
        config (str | Config): A distillation config (its student is
            evaluated) or a plain mmdet / mmseg model config.
        checkpoint (str): A checkpoint of the distillation run, or a plain
            checkpoint of the model (e.g. from ``tools/convert_student.py``).
        work_dir (str): Results, logs, table and plot go here.
        corruptions (Sequence[str]): Corruption or group names, see
            :func:`~mmkd_ext.robustness.resolve_corruptions`. Defaults to
            the 15 benchmark corruptions.
        severities (Sequence[int]): Defaults to 1..5.
        task (str): 'det', 'seg', 'cls' or 'auto'. Defaults to 'auto'.
        metric (str, optional): The metric key to report. Defaults to
            ``coco/bbox_mAP`` (det), ``mIoU`` (seg) or ``accuracy/top1``
            (cls).
        seed (int): Base seed of the corruptions. Defaults to 0.
        to_rgb (bool): Corrupt images in RGB order, see
            :class:`~mmkd_ext.robustness.ImageCorruption`. Defaults to False.
        cfg_options (dict, optional): Overrides merged into ``config``
            (for a distillation config: before its student is taken, e.g.
            ``model.architecture.test_cfg.score_thr``).
        launcher (str): mmengine launcher. Defaults to 'none'.
        progress (bool): Show a progress bar. Defaults to True.
    """

    def __init__(self,
                 config,
                 checkpoint: str,
                 work_dir: str,
                 corruptions: Sequence[str] = ('benchmark', ),
                 severities: Sequence[int] = (1, 2, 3, 4, 5),
                 task: str = 'auto',
                 metric: Optional[str] = None,
                 seed: int = 0,
                 to_rgb: bool = False,
                 cfg_options: Optional[Dict] = None,
                 launcher: str = 'none',
                 progress: bool = True) -> None:
        self.corruptions = resolve_corruptions(corruptions)
        self.severities = check_severities(severities)
        cfg = config if isinstance(config, Config) else Config.fromfile(
            config)
        self.config_file = cfg.filename
        cfg = Config(copy.deepcopy(cfg.to_dict()))
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        self.distill = is_distill_config(cfg)
        if self.distill:
            cfg = student_config(cfg)
        if task == 'auto':
            task = infer_task(cfg)
        if task not in TASKS:
            raise ValueError(f'task must be one of {list(TASKS)} or auto, '
                             f'got {task!r}')
        self.task = task
        self.metric = metric or TASKS[task][0]
        self.scale = TASKS[task][1]
        self.checkpoint = checkpoint
        self.work_dir = osp.abspath(work_dir)
        self.results_dir = osp.join(self.work_dir, 'results')
        self.seed = int(seed)
        self.to_rgb = to_rgb
        self.launcher = launcher
        self.progress = progress

        for key in ('test_dataloader', 'test_evaluator', 'test_cfg'):
            if cfg.get(key) is None:
                raise KeyError(f'the config has no {key}')
        ds_cfg, _ = pipeline_dataset(cfg.test_dataloader.dataset,
                                     'test_dataloader.dataset')
        insert_corruption(ds_cfg['pipeline'], {})  # it has a loader step
        preflight_check(cfg, loaders=('test_dataloader', ))
        evaluators = cfg.test_evaluator if isinstance(
            cfg.test_evaluator, (list, tuple)) else [cfg.test_evaluator]
        for i, ev in enumerate(evaluators):
            ann = ev.get('ann_file')
            if ann and '://' not in ann and not osp.isfile(ann):
                key = 'test_evaluator' + (
                    f'[{i}]' if len(evaluators) > 1 else '')
                raise FileNotFoundError(f'{key}.ann_file: annotation file '
                                        f'"{ann}" does not exist.')
        self.state, self.extracted = load_state_dict(checkpoint)
        cfg.load_from = None
        cfg.resume = False
        cfg.work_dir = self.work_dir
        self.cfg = cfg
        self.conditions = plan_conditions(self.corruptions, self.severities)
        self.runner: Optional[Runner] = None

    # -- set-up -----------------------------------------------------------

    def build(self) -> Runner:
        """Build the runner and load (after checking) the weights."""
        if self.runner is not None:
            return self.runner
        setup_distributed(self.cfg, self.launcher)
        runner = Runner.from_cfg(self.cfg)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        check_state_dict(model, self.state, self.checkpoint)
        model.load_state_dict(self.state, strict=True)
        self.runner = runner
        return runner

    def fingerprint(self, num_images: int) -> str:
        """What a stored result must have been computed with."""
        cfg = self.cfg
        ds_cfg, _ = pipeline_dataset(cfg.test_dataloader.dataset, '')
        parts = dict(
            checkpoint=file_sha256(self.checkpoint),
            model=_pretty(cfg.model),
            pipeline=_pretty(ds_cfg['pipeline']),
            dataset=_pretty({
                k: v
                for k, v in ds_cfg.items() if k != 'pipeline'
            }),
            evaluator=_pretty(cfg.test_evaluator),
            num_images=num_images,
            seed=self.seed,
            to_rgb=self.to_rgb,
            metric=self.metric)
        return hashlib.sha256(_pretty(parts).encode()).hexdigest()[:20]

    def result_path(self, cond: Condition) -> str:
        """``{work_dir}/results/{name}.json``."""
        return osp.join(self.results_dir, f'{cond.name}.json')

    def _pending(self, fingerprint: str) -> List[Condition]:
        """Conditions without a stored result (main process decides)."""
        pending: List = [None]
        if is_main_process():
            todo = []
            for cond in self.conditions:
                path = self.result_path(cond)
                if not osp.isfile(path):
                    todo.append(cond)
                    continue
                try:
                    with open(path) as f:
                        stored = json.load(f)
                except (OSError, ValueError):
                    todo.append(cond)  # a torn write: recompute
                    continue
                if stored.get('fingerprint') != fingerprint:
                    pending[0] = ValueError(
                        f'{path} was computed with another checkpoint, '
                        'model, pipeline, dataset, evaluator or seed '
                        f'(fingerprint {stored.get("fingerprint")} != '
                        f'{fingerprint}). Use another --work-dir or delete '
                        f'{self.results_dir}.')
                    break
            else:
                pending[0] = todo
        broadcast_object_list(pending)
        if isinstance(pending[0], Exception):
            raise pending[0]
        return pending[0]

    # -- evaluation -------------------------------------------------------

    def _dataloader(self, dataset, cond: Condition):
        loader_cfg = copy.deepcopy(self.cfg.test_dataloader.to_dict())
        loader_cfg['persistent_workers'] = False
        loader_cfg['dataset'] = dataset
        inner, _ = pipeline_dataset(dataset, 'test_dataloader.dataset')
        pipeline = self._base_pipeline
        if cond.severity:
            pipeline = insert_corruption(
                pipeline,
                dict(type='ImageCorruption', corruption=cond.corruption,
                     severity=cond.severity, seed=self.seed,
                     to_rgb=self.to_rgb))
        inner.pipeline = Compose(pipeline)
        return self.runner.build_dataloader(loader_cfg)

    def _write(self, cond: Condition, metrics: Dict, fingerprint: str,
               num_images: int, seconds: float) -> None:
        record = dict(
            condition=cond.name,
            corruption=cond.corruption,
            severity=cond.severity,
            metric=self.metric,
            score=float(metrics[self.metric]) * self.scale,
            metrics={
                k: float(v) if isinstance(v, numbers.Real) else str(v)
                for k, v in metrics.items()
            },
            num_images=num_images,
            seconds=round(seconds, 2),
            fingerprint=fingerprint,
            checkpoint=osp.abspath(self.checkpoint))
        json_dump_atomically(record, self.result_path(cond))

    def run(self) -> Optional[Dict]:
        """Evaluate the pending conditions, then summarise.

        Returns:
            dict | None: The summary (main process), None elsewhere.
        """
        runner = self.build()
        dataset = DATASETS.build(copy.deepcopy(
            self.cfg.test_dataloader.dataset))
        if hasattr(dataset, 'full_init'):
            dataset.full_init()
        num_images = len(dataset)
        ds_cfg, _ = pipeline_dataset(self.cfg.test_dataloader.dataset, '')
        self._base_pipeline = [dict(t) for t in ds_cfg['pipeline']]
        fingerprint = self.fingerprint(num_images)
        pending = self._pending(fingerprint)
        done = len(self.conditions) - len(pending)
        print_log(
            f'robustness benchmark ({self.task}, {self.metric}): '
            f'{len(self.conditions)} conditions, {done} already done, '
            f'{len(pending)} to run on {num_images} images; results in '
            f'{self.results_dir}', logger='current')
        evaluator = runner.build_evaluator(self.cfg.test_evaluator)
        hook = _ProgressHook()
        runner.register_hook(hook)
        runner.call_hook('before_run')
        fp16 = bool(self.cfg.test_cfg.get('fp16', False))
        for i, cond in enumerate(pending):
            loader = self._dataloader(dataset, cond)
            if self.progress and is_main_process() and hook.bar is None:
                hook.bar = ProgressBar(
                    len(loader) * len(pending), file=sys.stdout)
            loop = TestLoop(runner, loader, evaluator, fp16=fp16)
            runner._test_loop = loop  # hooks read runner.test_loop
            start = time.time()
            metrics = loop.run()
            if self.metric not in metrics:
                raise KeyError(
                    f'metric {self.metric!r} is not among the evaluator\'s '
                    f'results {sorted(metrics)}; pass --metric')
            if is_main_process():
                self._write(cond, metrics, fingerprint, num_images,
                            time.time() - start)
                score = float(metrics[self.metric]) * self.scale
                print_log(
                    f'[{done + i + 1}/{len(self.conditions)}] {cond.name}: '
                    f'{self.metric} = {score:.2f}', logger='current')
        runner.call_hook('after_run')
        if hook.bar is not None:
            sys.stdout.write('\n')
        if not is_main_process():
            return None
        results = load_results(self.results_dir,
                               [c.name for c in self.conditions])
        _, world = get_dist_info()
        return summarize(
            results,
            self.work_dir,
            task=self.task,
            metric=self.metric,
            meta=dict(
                config=self.config_file,
                checkpoint=osp.abspath(self.checkpoint),
                student_of_distillation=self.distill or self.extracted,
                seed=self.seed,
                to_rgb=self.to_rgb,
                num_images=num_images,
                world_size=world))

# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Exact resume: the random state of training travels with the checkpoint.

mmengine's checkpoints hold the weights, optimizer, schedulers and message
hub, but not the random generators that data augmentation draws from
(mmcv's ``RandomFlip`` uses NumPy's global generator; other transforms and
models use Python's ``random`` and torch's). A run resumed from a checkpoint
therefore augments differently from the run that wrote it.
:class:`RNGStateHook` closes the gap:

* **Main process.** At the end of each training epoch (before
  ``CheckpointHook``) the hook takes the Python, NumPy and torch (CPU, and
  the current CUDA device when CUDA is in use) generator states of every
  rank (gathered: mmengine writes checkpoints on rank 0 only);
  ``before_save_checkpoint`` stores them under ``checkpoint['rng_state']``
  (a list indexed by rank). The next epoch starts from exactly that state:
  ``before_train_epoch`` restores it both in a resumed run (from
  ``after_load_checkpoint``) and in the uninterrupted run, so that what
  happens between the end of an epoch and the next one (the validation
  loop, other hooks) does not change the training stream. All checkpoints
  of one epoch end (e.g. the latest and the best) hold the same state.
* **Dataloader workers.** mmengine seeds worker ``w`` of rank ``r`` with
  ``seed + r * num_workers + w`` when each epoch's workers start: the same
  seeds every epoch, so each epoch repeats the previous one's augmentation
  draws. The hook seeds them from ``(seed, epoch, rank, w)`` instead
  (:func:`seed_worker`): new draws every epoch, and the same draws for an
  epoch in a resumed run. A ``worker_init_fn`` set in the config is left
  alone. With ``persistent_workers=True`` workers are seeded once, when
  they start (the first epoch of a run, resumed or not), so a resumed run
  cannot repeat their draws: the hook warns.

Scope: exact for ``EpochBasedTrainLoop`` resumed from an epoch checkpoint
(``tests/test_runner.py`` checks it with 0 and 2 workers and with two
processes). A checkpoint saved within an epoch (``IterBasedTrainLoop``,
``CheckpointHook(by_epoch=False)``) holds the state of that moment in a
single process and none in a distributed run; mmengine's
``IterBasedTrainLoop`` also replays the skipped batches through the pipeline
on resume. Iteration-based resume is therefore not guaranteed exact.

Our ``tools/train.py`` adds the hook to every config
(:func:`add_rng_state_hook`); the demo configs list it in
``custom_hooks`` so that other train scripts (mmrazor's, mim's) get it too.
"""
import logging
import random
import warnings
from functools import partial
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import worker_init_fn as mmengine_worker_init_fn
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS

CKPT_KEY = 'rng_state'


def get_rng_state() -> Dict:
    """The Python, NumPy and torch generator states of this process."""
    state = dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: Dict) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'])


def seed_worker(worker_id: int,
                seed: int,
                epoch: int,
                rank: int,
                disable_subprocess_warning: bool = False) -> None:
    """``worker_init_fn``: seed Python, NumPy and torch in a dataloader
    worker from ``(seed, epoch, rank, worker_id)``."""
    worker_seed = int(
        np.random.SeedSequence([seed, epoch, rank,
                                worker_id]).generate_state(1)[0])
    random.seed(worker_seed)
    np.random.seed(worker_seed)
    torch.manual_seed(worker_seed)
    if disable_subprocess_warning and worker_id != 0:
        warnings.simplefilter('ignore')


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Checkpoint and restore the random state of training; seed dataloader
    workers per epoch (see the module docstring)."""

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        # ((epoch, iter) the next epoch starts at, this rank's state, every
        # rank's state) from the last epoch end or checkpoint loaded.
        self._saved: Optional[Tuple[Tuple[int, int], Dict, List]] = None

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        if loader.num_workers > 0 and loader.persistent_workers:
            print_log(
                'RNGStateHook: train_dataloader.persistent_workers=True: '
                'workers are seeded once when they start, so a resumed run '
                'does not repeat their augmentation exactly. Set '
                'persistent_workers=False for an exact resume.',
                logger='current',
                level=logging.WARNING)

    def after_train_epoch(self, runner) -> None:
        # Before CheckpointHook (priority VERY_HIGH): mmengine saves on rank
        # 0 only, so every rank's state is gathered here.
        state = get_rng_state()
        self._saved = ((runner.epoch + 1, runner.iter), state,
                       all_gather_object(state))

    def before_save_checkpoint(self, runner, checkpoint: Dict) -> None:
        step = (checkpoint['meta']['epoch'], checkpoint['meta']['iter'])
        if self._saved is not None and self._saved[0] == step:
            checkpoint[CKPT_KEY] = self._saved[2]
        elif get_world_size() == 1:
            checkpoint[CKPT_KEY] = [get_rng_state()]
        else:
            print_log(
                'RNGStateHook: a checkpoint within an epoch of a distributed '
                'run holds no random state (only epoch checkpoints hold '
                "every rank's).",
                logger='current',
                level=logging.WARNING)

    def after_load_checkpoint(self, runner, checkpoint: Dict) -> None:
        states = checkpoint.get(CKPT_KEY)
        if not states:
            return
        rank = get_rank()
        if rank >= len(states):
            print_log(
                f'RNGStateHook: the checkpoint holds the random state of '
                f'{len(states)} processes, not of rank {rank}: not restored.',
                logger='current',
                level=logging.WARNING)
            return
        meta = checkpoint['meta']
        self._saved = ((meta['epoch'], meta['iter']), states[rank], states)

    def before_train_epoch(self, runner) -> None:
        if self._saved is not None and self._saved[0] == (runner.epoch,
                                                          runner.iter):
            set_rng_state(self._saved[1])
        self._seed_workers(runner)

    @staticmethod
    def _seed_workers(runner) -> None:
        loader = runner.train_dataloader
        init_fn = loader.worker_init_fn
        if isinstance(init_fn, partial) and (
                init_fn.func is mmengine_worker_init_fn
                or init_fn.func is seed_worker):
            loader.worker_init_fn = partial(
                seed_worker,
                seed=runner.seed,
                epoch=runner.epoch,
                rank=get_rank(),
                disable_subprocess_warning=init_fn.keywords.get(
                    'disable_subprocess_warning', False))


def _is_rng_state_hook(hook) -> bool:
    """True for an RNGStateHook or a config of one (any scope prefix)."""
    htype = hook.get('type') if isinstance(hook, dict) else type(hook)
    if isinstance(htype, str):
        return htype.split('.')[-1] == RNGStateHook.__name__
    return htype is RNGStateHook


def add_rng_state_hook(cfg: Config) -> None:
    """Add :class:`RNGStateHook` to ``cfg.custom_hooks`` unless listed."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(_is_rng_state_hook(h) for h in hooks):
        hooks.append(dict(type='RNGStateHook'))
    cfg.custom_hooks = hooks

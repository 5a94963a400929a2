# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Build a distillation config and run one training step on CPU.

Full-size configs (R101 teachers, 1333x800 inputs) cannot be trained in a
test, but they can be built with their real architectures and stepped once on
a small fake batch: that catches wrong module paths, channel counts, loss
arguments and optimizer settings. Weights are random: nothing is downloaded
(``init_weights`` is never called and ``teacher_ckpt`` is dropped, with
``model.distiller.allow_random_teacher`` set). The test suite and
``tools/analyze_distill.py`` (:mod:`mmkd_ext.analysis.doctor`) build and
step configs through these functions.
"""
import os.path as osp
from typing import Callable, Dict, Optional, Sequence, Union

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmrazor.registry import MODELS

from mmkd_ext.models.distillers import allow_random_teacher


def infer_task(model: torch.nn.Module) -> str:
    """'det', 'seg' or 'cls' from the built student (an algorithm's
    ``architecture`` or a plain model)."""
    from mmdet.models.detectors import BaseDetector
    from mmpretrain.models.classifiers import BaseClassifier
    from mmseg.models.segmentors import BaseSegmentor
    arch = getattr(model, 'architecture', model)
    for base, task in ((BaseDetector, 'det'), (BaseSegmentor, 'seg'),
                       (BaseClassifier, 'cls')):
        if isinstance(arch, base):
            return task
    raise TypeError(f'cannot tell the task of the student '
                    f'{type(arch).__name__}: it is neither an mmdet '
                    'detector, an mmseg segmentor nor an mmpretrain '
                    'classifier')


def num_classes(model: torch.nn.Module) -> int:
    """The number of classes of the student's head (2 if none is found)."""
    arch = getattr(model, 'architecture', model)
    for path in ('bbox_head', 'roi_head.bbox_head', 'decode_head', 'head'):
        module = arch
        for part in path.split('.'):
            module = getattr(module, part, None)
        if module is not None and hasattr(module, 'num_classes'):
            return int(module.num_classes)
    return 2


def make_batch(task: str,
               input_size: Sequence[int] = (64, 64),
               batch_size: int = 2,
               num_classes: int = 2,
               seed: int = 0) -> Dict:
    """A fake data batch as a dataloader would give it (before the data
    preprocessor): uint8 images (3, H, W) and data samples with labels.

    Args:
        task (str): 'det' (mmdet DetDataSample with boxes), 'seg' (mmseg
            SegDataSample with a label map) or 'cls' (mmpretrain DataSample).
        input_size (Sequence[int]): (H, W).
        batch_size (int): Number of images.
        num_classes (int): Labels are drawn from ``range(min(num_classes,
            4))``.
        seed (int): Random seed.
    """
    gen = torch.Generator().manual_seed(seed)
    h, w = input_size
    inputs, samples = [], []
    n_cls = max(1, min(num_classes, 4))
    for _ in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, h, w), generator=gen,
                                    dtype=torch.uint8))
        meta = dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                    scale_factor=(1.0, 1.0), flip=False)
        if task == 'det':
            from mmdet.structures import DetDataSample
            from mmengine.structures import InstanceData
            sample = DetDataSample(metainfo=meta)
            x1y1 = torch.rand(3, 2, generator=gen) * torch.tensor(
                [w / 2, h / 2])
            wh = torch.rand(3, 2, generator=gen) * torch.tensor(
                [w / 2, h / 2]) + 4
            sample.gt_instances = InstanceData(
                bboxes=torch.cat([x1y1, x1y1 + wh], dim=1),
                labels=torch.randint(0, n_cls, (3, ), generator=gen))
        elif task == 'seg':
            from mmengine.structures import PixelData
            from mmseg.structures import SegDataSample
            sample = SegDataSample(metainfo=meta)
            sample.gt_sem_seg = PixelData(data=torch.randint(
                0, n_cls, (1, h, w), generator=gen))
        elif task == 'cls':
            from mmpretrain.structures import DataSample
            sample = DataSample(metainfo=meta).set_gt_label(
                int(torch.randint(0, n_cls, (1, ), generator=gen)))
        else:
            raise ValueError(f'unknown task {task!r}: use det, seg or cls')
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def make_algorithm_batch(model: torch.nn.Module,
                         task: str,
                         input_size: Sequence[int] = (64, 64),
                         batch_size: int = 2,
                         seed: int = 0) -> Dict:
    """:func:`make_batch` for ``model``: its number of classes, and one batch
    per view (``inputs`` a list of views) for a multi-view algorithm."""
    n_cls = num_classes(model)
    views = getattr(model, 'num_views', 1)
    if views == 1:
        return make_batch(task, input_size, batch_size, n_cls, seed)
    batches = [
        make_batch(task, input_size, batch_size, n_cls, seed + i)
        for i in range(views)
    ]
    return dict(inputs=[b['inputs'] for b in batches],
                data_samples=batches[0]['data_samples'])


def build_algorithm(cfg_path: Union[str, Config],
                    cfg_options: Optional[Dict] = None,
                    keep_teacher_ckpt: bool = False) -> tuple:
    """Load ``cfg_path`` and build its model.

    Args:
        cfg_path (str | Config): The config file or a loaded config (then
            changed in place).
        cfg_options (dict, optional): Overrides merged into the config.
        keep_teacher_ckpt (bool): Load ``model.teacher_ckpt`` when it names
            an existing file. By default it is dropped and no weights are
            loaded at all (the teacher's are random, explicitly allowed).

    Returns:
        tuple: (model, cfg).
    """
    cfg = (cfg_path
           if isinstance(cfg_path, Config) else Config.fromfile(cfg_path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    ckpt = cfg.model.get('teacher_ckpt')
    if ckpt and not (keep_teacher_ckpt and osp.isfile(ckpt)):
        cfg.model.teacher_ckpt = None
    allow_random_teacher(cfg.model)
    init_default_scope(cfg.get('default_scope', 'mmrazor'))
    model = MODELS.build(cfg.model)
    return model, cfg


def run_train_step(cfg_path: str,
                   task: str,
                   input_size: Sequence[int] = (64, 64),
                   batch_size: int = 2,
                   cfg_options: Optional[Dict] = None,
                   batch_fn: Optional[Callable[..., Dict]] = None) -> Dict:
    """Build ``cfg_path`` and run one ``train_step`` on a fake batch.

    Args:
        cfg_path (str): The distillation config.
        task (str): 'det', 'seg' or 'cls' (see :func:`make_batch`).
        input_size (Sequence[int]): Image (H, W).
        batch_size (int): Images per batch (>= 2 for BatchNorm).
        cfg_options (dict, optional): Overrides merged into the config.
        batch_fn (callable, optional): Replaces :func:`make_batch` (same
            arguments) for configs whose pipeline packs more than one view.

    Returns:
        dict: The log variables of the step as floats.
    """
    model, cfg = build_algorithm(cfg_path, cfg_options)
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = (batch_fn or make_batch)(task, input_size, batch_size,
                                     num_classes(model))
    log_vars = model.train_step(batch, optim_wrapper)
    return {k: float(v) for k, v in log_vars.items()}

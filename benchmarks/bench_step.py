# Copyright (c) mmkd_ext contributors. All rights reserved.
"""The whole distillation step against its floor, one config per family.

For each method family, the config is built as the smoke tests do (real
architectures, random weights, nothing downloaded) and stepped on a fake
batch at a small but real input size. Three things run in turns
(``measure.interleaved``: a warm-up round, then ``--repeat`` rounds):

* ``distill``: one distillation ``train_step`` (student forward + backward,
  teacher forward, distillation losses, optimizer step);
* ``student``: the student's own ``train_step`` (its task losses and
  optimizer step, no teacher);
* ``teacher``: one no-grad teacher forward of what the distiller records
  (backbone + neck for FPN features; the network up to its head for the
  decoder map, the logits and the penultimate features; backbone + neck
  and the bbox branch of the RoI head on the student's RoIs for RoI
  logits).

Printed per family: the median wall times and the median (and range) over
the rounds of the per-round ratio distill / (student + teacher), the
issue's target being <= 1.10; and the same ratio of the floating-point
operations of matrix products and convolutions (``FlopCounterMode``, one
more run of each): the ratio the step would have if every such operation
ran at the same speed and nothing else cost time, i.e. the floor that the
distillation losses' own arithmetic sets.

The three see the same work: the optimizers run with learning rate 0 (the
update's arithmetic is done, the weights stay) and each callable starts
from the same random seed, so that a two-stage detector samples the same
RoIs in every step and round (its CPU RoIAlign time follows the RoIs'
sizes: one call of it varied by 0.2 s between steps, which made the
Faster R-CNN ratio range 0.95-1.15 over 5 rounds).

Usage::

    python benchmarks/bench_step.py
    python benchmarks/bench_step.py --families cankd tat --repeat 5
"""
import argparse
import logging
import os
import os.path as osp
import statistics
import sys
import tempfile
import warnings
from typing import Callable, Dict

import torch
from measure import interleaved
from torch.utils.flop_counter import FlopCounterMode

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CFG = osp.join(ROOT, 'configs')

FAMILIES: Dict[str, dict] = {
    'cankd': dict(
        title='CanKD RetinaNet R-101 -> R-50',
        cfg='cankd/cankd_fpn_retinanet-r101_retinanet-r50_2xb2-2x_coco.py',
        task='det', size=(384, 640), batch=2, teacher='features'),
    'tat': dict(
        title='TaT DeepLabV3+ R-101 -> R-18 (VOC)',
        cfg='tat/tat_decoder_deeplabv3plus-r101-d16_deeplabv3plus-r18-d16_'
        '1xb16-100e_voc12aug.py',
        task='seg', size=(256, 256), batch=2, teacher='tensor',
        options={
            'model.architecture.data_preprocessor.size': (256, 256),
            # the decoder map of a 256 x 256 crop (stride 4)
            'model.distiller.distill_losses.loss_tat.feat_size': (64, 64),
        }),
    'letkd': dict(
        title='letKD ImageNet R-34 -> R-18',
        cfg='letkd/letkd-1_penult_resnet34_resnet18_8xb32-100e_in1k.py',
        task='cls', size=(224, 224), batch=8, teacher='tensor',
        targets=True),
    'wttm': dict(
        title='WTTM ImageNet R-34 -> R-18',
        cfg='wttm/wttm_logits_resnet34_resnet18_8xb32-100e_in1k.py',
        task='cls', size=(224, 224), batch=8, teacher='tensor'),
    'dkd_z': dict(
        title='DKD + Z Faster R-CNN R-101 -> R-50 RoI logits',
        cfg='zscore/dkd-zscore_roi-logits_faster-rcnn-r101_faster-rcnn-r50_'
        '2xb2-2x_coco.py',
        task='det', size=(384, 640), batch=2, teacher='roi'),
}


def _letkd_options(cfg_path: str, tmp: str) -> dict:
    """A random targets file matching the config (no teacher statistics)."""
    from mmengine.config import Config

    from tests.test_letkd import _write_targets
    cfg = Config.fromfile(cfg_path)
    specs = {k: dict(v) for k, v in cfg.letkd_targets.items()}
    path = _write_targets(osp.join(tmp, 'targets.pth'), specs)
    return {
        f'model.distiller.distill_losses.{name}.target_file': path
        for name in cfg.model.distiller.distill_losses
    }


def _teacher_forward(model, family: dict, data: dict,
                     batch: dict, optim) -> Callable[[], object]:
    """The no-grad teacher forward of what the distiller records."""
    teacher, inputs = model.teacher, data['inputs']
    if family['teacher'] == 'features':
        return lambda: teacher.extract_feat(inputs)
    if family['teacher'] == 'tensor':
        return lambda: teacher(inputs, data['data_samples'], mode='tensor')
    # RoI logits: the RoIs the student sampled in a distillation step.
    rois = []
    extractor = model.student.roi_head.bbox_roi_extractor
    handle = extractor.register_forward_pre_hook(
        lambda module, args: rois.append(args[1].detach()))
    model.train_step(batch, optim)
    handle.remove()

    def forward():
        feats = teacher.extract_feat(inputs)
        return teacher.roi_head._bbox_forward(feats, rois[0])
    return forward


def bench_family(key: str, repeat: int, tmp: str) -> None:
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper

    from mmkd_ext.analysis.step import build_algorithm, make_batch, num_classes
    family = FAMILIES[key]
    cfg_path = osp.join(CFG, family['cfg'])
    options = dict(family.get('options', {}))
    if family.get('targets'):
        options.update(_letkd_options(cfg_path, tmp))
    model, cfg = build_algorithm(cfg_path, options)
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    model.train()
    batch = make_batch(family['task'], family['size'], family['batch'],
                       num_classes(model))
    distill_optim = build_optim_wrapper(model, cfg.optim_wrapper)
    student_optim = build_optim_wrapper(model.student, cfg.optim_wrapper)
    for optim in (distill_optim, student_optim):
        for group in optim.optimizer.param_groups:
            group['lr'] = 0.0
    with torch.no_grad():
        data = model.data_preprocessor(batch, True)
    torch.manual_seed(0)
    teacher = _teacher_forward(model, family, data, batch, distill_optim)

    def teacher_step():
        with torch.no_grad():
            teacher()

    def seeded(step: Callable[[], object]) -> Callable[[], object]:
        return lambda: (torch.manual_seed(0), step())

    steps = [
        seeded(lambda: model.train_step(batch, distill_optim)),
        seeded(lambda: model.student.train_step(batch, student_optim)),
        seeded(teacher_step),
    ]
    medians, _, _, rounds = interleaved(steps, repeat)
    ratios = [d / (s + t) for d, s, t in zip(*rounds)]
    flops = []
    for step in steps:
        with FlopCounterMode(display=False) as counter:
            step()
        flops.append(counter.get_total_flops())
    h, w = family['size']
    print(f'{family["title"]:<46s} {family["batch"]:>2d}x{h}x{w:<4d} '
          f'{medians[0]:8.2f} {medians[1]:8.2f} {medians[2]:8.2f} '
          f'{statistics.median(ratios):7.3f} '
          f'[{min(ratios):.3f}-{max(ratios):.3f}] '
          f'{flops[0] / (flops[1] + flops[2]):6.3f}  '
          f'load {os.getloadavg()[0]:.1f}', flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--families', nargs='+', default=list(FAMILIES),
                        choices=list(FAMILIES))
    parser.add_argument('--repeat', type=int, default=3,
                        help='timed rounds after a warm-up round')
    args = parser.parse_args()
    warnings.filterwarnings('ignore', 'pkg_resources is deprecated')
    sys.path.insert(0, ROOT)
    print(f'CPU, {torch.get_num_threads()} threads, {args.repeat} rounds; '
          'load average ' +
          ' '.join(f'{x:.1f}' for x in os.getloadavg()))
    print(f'{"family":<46s} {"batch":>10s}    {"distill":>8s} '
          f'{"student":>8s} {"teacher":>8s} {"ratio":>7s} {"[range]":>13s} '
          f'{"flops":>6s}')
    with tempfile.TemporaryDirectory() as tmp:
        for key in args.families:
            bench_family(key, args.repeat, tmp)
    print('times: median seconds of the distillation train_step, the '
          'student\'s own train_step and the teacher forward; ratio: '
          'distill / (student + teacher), median [min-max] over the rounds '
          '(target <= 1.10); flops: the same ratio of the matrix-product '
          'and convolution FLOPs (the floor the losses\' arithmetic sets).')


if __name__ == '__main__':
    main()

# Copyright (c) mmkd_ext contributors. All rights reserved.
"""letKD: cost of the KD layers inserted into the student.

The supplement reports that the 1x1-BN-ReLU-1x1 KD layer adds about 2% time
per image at an intermediate layer and 2-20% at the penultimate layer for K
from 64 to 4096 templates. This script measures ours the same way: the
student with and without the layers, same weights, same run, interleaved
(every repetition times every variant once, in a new random order) and
reports the ratio of the median times per image:

* ``inter K``: one layer after the first block of the last stage (ResNet
  ``backbone.layer4.0``, MobileNetV1 ``backbone.layers.11``);
* ``penult K``: one layer on the last map before global pooling (ResNet
  ``backbone.layer4``, MobileNetV1 ``backbone.layers.12``);

in inference (eval mode, no grad) and in training (train mode, forward +
backward of the cross-entropy loss; the KL loss is not included).

Usage::

    python benchmarks/bench_letkd.py [--arch resnet18|mobilenet-v1]
        [--batch-size 16] [--size 224] [--repeat 7] [--device cpu|cuda]
        [--threads N]
"""
import argparse
import copy
import os.path as osp
import random
import statistics
import sys
import time

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmkd_ext  # noqa: E402,F401  (compat patches before mmrazor)
from mmkd_ext.models.architectures import insert_letkd_layers  # noqa: E402

ARCHS = {
    'resnet18':
    dict(
        backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
        channels=512,
        inter=('backbone.layer4.0', 512),
        penult=('backbone.layer4', 512)),
    'mobilenet-v1':
    dict(
        backbone=dict(type='MobileNetV1', out_indices=(12, )),
        channels=1024,
        inter=('backbone.layers.11', 1024),
        penult=('backbone.layers.12', 1024)),
}
CASES = [('inter', 64), ('inter', 800), ('inter', 8000), ('penult', 64),
         ('penult', 256), ('penult', 1024), ('penult', 4096)]


def build(arch: str) -> torch.nn.Module:
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS
    init_default_scope('mmrazor')
    spec = ARCHS[arch]
    return MODELS.build(
        dict(
            _scope_='mmpretrain',
            type='ImageClassifier',
            backbone=spec['backbone'],
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='LinearClsHead',
                num_classes=1000,
                in_channels=spec['channels'])))


def variant(base: torch.nn.Module, arch: str, where: str,
            k: int) -> torch.nn.Module:
    model = copy.deepcopy(base)
    module, channels = ARCHS[arch][where]
    insert_letkd_layers(
        model,
        {where: dict(module=module, in_channels=channels, num_templates=k)})
    return model


def timed(fn, model, device) -> float:
    if device.type == 'cuda':
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn(model)
    if device.type == 'cuda':
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', choices=sorted(ARCHS), default='resnet18')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--repeat', type=int, default=7)
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--threads', type=int, help='torch CPU threads (default: torch\'s)')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    rng = random.Random(0)
    base = build(args.arch).to(device)
    models = {'base': base}
    for where, k in CASES:
        models[f'{where} K={k}'] = variant(base, args.arch, where,
                                           k).to(device)
    x = torch.randn(args.batch_size, 3, args.size, args.size, device=device)
    y = torch.randint(0, 1000, (args.batch_size, ), device=device)

    def infer(model):
        with torch.no_grad():
            model(x, mode='tensor')

    def train(model):
        loss = torch.nn.functional.cross_entropy(model(x, mode='tensor'), y)
        loss.backward()
        model.zero_grad(set_to_none=True)

    print(f'{args.arch}, batch {args.batch_size}, {args.size}x{args.size}, '
          f'{device}, median of {args.repeat} interleaved runs; ratio = '
          'time per image with the layer / without')
    for mode, fn in (('inference', infer), ('training', train)):
        for model in models.values():
            model.train(mode == 'training')
            fn(model)  # warm-up
        times = {name: [] for name in models}
        order = list(models)
        for _ in range(args.repeat):
            rng.shuffle(order)  # no variant always runs after another
            for name in order:
                times[name].append(timed(fn, models[name], device))
        base_t = statistics.median(times['base'])
        print(f'\n{mode}: base {1e3 * base_t / args.batch_size:.2f} '
              'ms/image')
        for name in models:
            if name == 'base':
                continue
            ratio = statistics.median(times[name]) / base_t
            print(f'  {name:<13} {ratio:6.3f}  ({100 * (ratio - 1):+.1f}%)')


if __name__ == '__main__':
    main()

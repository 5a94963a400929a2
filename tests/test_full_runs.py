# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Whole distillation runs through ``tools/train.py``: one epoch of
training, the distillation validation loop (teacher and student metrics)
and the checkpoint, on tiny Pascal VOC 2012 aug and ImageNet-format sets
written here, with small crops, batch 2 and random teacher weights.

The one-step smoke tests build ``model`` from each config but not the
Runner, its loops or the data pipeline. Two bugs lived only there: the
DeepLabV3+ configs' ``val_cfg`` kept an unresolved ``_delete_``, and
mmengine's Runner put their top-level ``data_preprocessor`` helper into the
algorithm, unbuildable in mmrazor's scope. One config per task runs by
default (15-40 s each on 2 cores); the others with ``-m slow``.
"""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from PIL import Image

from .conftest import ROOT
from .tool_helpers import train_with_tool

SEG_CONFIGS = [
    'tat/tat_decoder_deeplabv3plus-r101-d16_deeplabv3plus-r18-d16_'
    '1xb16-100e_voc12aug.py',
    pytest.param(
        'cankd/cankd_decoder_deeplabv3plus-r101-d16_deeplabv3plus-mobilenet-v2-'
        'd16_1xb12-100e_voc12aug.py',
        marks=pytest.mark.slow),
]
CLS_CONFIGS = [
    pytest.param(
        'wttm/wttm_logits_resnet34_resnet18_8xb32-100e_in1k.py',
        marks=pytest.mark.slow),
    pytest.param(
        'ctkd/ctkd-zscore_logits_resnet34_resnet18_8xb64-100e_in1k.py',
        marks=pytest.mark.slow),
    'mlkd/mlkd-zscore_logits_resnet50_mobilenet-v1_8xb64-100e_in1k.py',
    pytest.param(
        'tat/tat-kd_backbone_resnet34_resnet18_8xb256-100e_in1k.py',
        marks=pytest.mark.slow),
    pytest.param(
        'combined/cankd-wttm_backbone-logits_resnet34_resnet18_8xb32-100e_in1k.py',
        marks=pytest.mark.slow),
]
DET_CONFIGS = [
    pytest.param(
        'zscore/dkd-zscore_roi-logits_faster-rcnn-r101_faster-rcnn-r50_2xb2-2x_'
        'coco.py',
        marks=pytest.mark.slow),
    'combined/cankd-dkd-zscore_fpn-roi_faster-rcnn-r101_faster-rcnn-r50_'
    '2xb2-2x_coco.py',
    pytest.param(
        'tat/tat_fpn_retinanet-r101_retinanet-r50_8xb2-2x_coco.py',
        marks=pytest.mark.slow),
]
DEMO_CLASSES = ('disc', 'square', 'triangle')
CROP = (128, 128)


@pytest.fixture(scope='module')
def voc_root(tmp_path_factory):
    """VOC2012 layout: 2 train, 2 aug, 2 val images of 72 x 96 pixels with
    a few classes and 255 borders."""
    root = tmp_path_factory.mktemp('voc') / 'VOC2012'
    rng = np.random.default_rng(0)
    for sub in ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
                'ImageSets/Segmentation'):
        os.makedirs(root / sub)
    splits = dict(train=['t0', 't1'], aug=['a0', 'a1'], val=['v0', 'v1'])
    for split, names in splits.items():
        seg_dir = 'SegmentationClassAug' if split == 'aug' else \
            'SegmentationClass'
        for name in names:
            img = rng.integers(0, 256, (72, 96, 3), dtype=np.uint8)
            label = np.zeros((72, 96), np.uint8)
            label[10:40, 20:60] = rng.integers(1, 21)
            label[45:70, 5:30] = rng.integers(1, 21)
            label[:, :2] = 255
            Image.fromarray(img).save(root / 'JPEGImages' / f'{name}.jpg')
            Image.fromarray(label).save(root / seg_dir / f'{name}.png')
        with open(root / 'ImageSets/Segmentation' / f'{split}.txt', 'w') as f:
            f.write('\n'.join(names) + '\n')
    return str(root)


@pytest.fixture(scope='module')
def imagenet_root(tmp_path_factory):
    """ImageNet layout with annotation files (``meta/{train,val}.txt``):
    4 train and 2 val images of 80 x 96 pixels in 3 of the 1000 classes."""
    root = tmp_path_factory.mktemp('imagenet')
    rng = np.random.default_rng(1)
    for split, count in (('train', 4), ('val', 2)):
        lines = []
        for i in range(count):
            name = f'{split}/n{i % 3}/img{i}.JPEG'
            os.makedirs(root / osp.dirname(name), exist_ok=True)
            img = rng.integers(0, 256, (80, 96, 3), dtype=np.uint8)
            Image.fromarray(img).save(root / name, format='JPEG')
            lines.append(f'{name[len(split) + 1:]} {i % 3}')
        os.makedirs(root / 'meta', exist_ok=True)
        with open(root / 'meta' / f'{split}.txt', 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return str(root)


def _walk(obj, fn):
    """Apply ``fn`` to every dict of a config, depth first."""
    if isinstance(obj, dict):
        fn(obj)
        for value in obj.values():
            _walk(value, fn)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            _walk(value, fn)


def _small(node: dict, data_root: str) -> None:
    """Tiny data, small crops, no downloaded (ImageNet) initialisation."""
    if 'data_root' in node:
        node['data_root'] = data_root
    if node.get('pretrained'):
        node['pretrained'] = None
    if (node.get('init_cfg') or {}).get('type') == 'Pretrained':
        node['init_cfg'] = None
    if 'score_thr' in node:  # random detectors: keep every box
        node['score_thr'] = 0.0
    kind = node.get('type')
    if kind == 'RandomResize':
        node['scale'] = (256, 128)
    elif kind == 'Resize':
        node['scale'] = (256, 128)
    elif kind == 'RandomCrop':
        node['crop_size'] = CROP
    elif kind == 'Pad':
        node['size'] = CROP
    elif kind == 'SegDataPreProcessor':
        node['size'] = CROP
    elif kind == 'RandomResizedCrop':
        node['scale'] = 64
    elif kind == 'ResizeEdge':
        node['scale'] = 72
    elif kind == 'CenterCrop':
        node['crop_size'] = 64


def _demo_coco(cfg: Config, data_root: str) -> None:
    """Point an mmdet COCO config at the demo set (its 3 classes)."""
    for key, split in (('train_dataloader', 'train'),
                       ('val_dataloader', 'val'), ('test_dataloader', 'val')):
        cfg[key].dataset.update(
            ann_file=f'annotations/instances_{split}.json',
            data_prefix=dict(img=f'{split}/'),
            metainfo=dict(classes=DEMO_CLASSES))
    for key in ('val_evaluator', 'test_evaluator'):
        cfg[key].ann_file = osp.join(data_root,
                                     'annotations/instances_val.json')
    # 3-class heads (the COCO metric maps labels to the set's categories);
    # a teacher given by its mmdet config path becomes that config's model.
    teacher = cfg.model.teacher
    if 'cfg_path' in teacher:
        cfg.model.teacher = dict(get_config(teacher.cfg_path).model,
                                 _scope_='mmdet')

    def three_classes(node: dict) -> None:
        if 'num_classes' in node:
            node['num_classes'] = len(DEMO_CLASSES)

    _walk(cfg.model, three_classes)

    # 256 x 256 images: TaT's RetinaNet config needs P7 > 1 x 1.
    def upscale(node: dict) -> None:
        if node.get('type') == 'Resize':
            node['scale'] = (256, 256)

    _walk(cfg.train_dataloader, upscale)


def _run_train_tool(rel: str, data_root: str, tmp_path) -> str:
    """Train ``rel`` (made small) for one epoch with ``tools/train.py``;
    returns its log."""
    from mmrazor.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, 'configs', rel))
    _walk(cfg._cfg_dict, lambda node: _small(node, data_root))
    if cfg.train_dataloader.dataset.get('type') == 'CocoDataset':
        _demo_coco(cfg, data_root)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].update(batch_size=2, num_workers=0,
                        persistent_workers=False)
    cfg.train_cfg.max_epochs = 1
    cfg.default_hooks.logger.interval = 1
    # Random teacher weights, saved where the config expects a checkpoint.
    torch.manual_seed(0)
    teacher = MODELS.build(cfg.model.teacher)
    cfg.model.teacher_ckpt = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict()), cfg.model.teacher_ckpt)
    cfg_path = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_path)
    return train_with_tool(cfg_path, str(tmp_path / 'work'))


@pytest.mark.parametrize('rel', SEG_CONFIGS)
def test_seg_train_validate_checkpoint(rel, voc_root, tmp_path):
    log = _run_train_tool(rel, voc_root, tmp_path)
    # Both models validated: mmrazor's loop prefixes the teacher's metrics.
    assert 'mIoU' in log and 'teacher.mIoU' in log, log[-4000:]


@pytest.mark.parametrize('rel', CLS_CONFIGS)
def test_cls_train_validate_checkpoint(rel, imagenet_root, tmp_path):
    log = _run_train_tool(rel, imagenet_root, tmp_path)
    assert 'accuracy/top1' in log and 'teacher.accuracy/top1' in log, \
        log[-4000:]


@pytest.mark.parametrize('rel', DET_CONFIGS)
def test_det_train_validate_checkpoint(rel, demo_root, tmp_path):
    log = _run_train_tool(rel, demo_root, tmp_path)
    assert 'bbox_mAP' in log and 'teacher.coco/bbox_mAP' in log, log[-4000:]

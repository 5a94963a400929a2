# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Segmentation and classification sets made by the demo set's generator.

the effectiveness grid (``tools/effectiveness_grid.py``) needs one embedded set
per task. Detection uses the COCO-format demo set
(:func:`~mmkd_ext.datasets.make_demo_coco`); the two sets here compose their
images the same way
(:func:`~mmkd_ext.datasets.demo_coco_generator.compose_image`):

* :func:`make_demo_seg`: class-per-pixel label maps (0 background, 1-3 the
  shapes) with the ignore label 255 on every object border, in mmseg's
  ``img_dir`` / ``ann_dir`` layout (``BaseSegDataset``).
* :func:`make_demo_cls`: square crops of the composited objects, one class
  per (shape, texture) pair (9 classes: similar classes share a shape or a
  texture), in mmpretrain's ``CustomDataset`` layout with annotation files.

Both, and :func:`write_coco_holdout` for the detection set, also write a
held-out split of the training images (``train_fit`` + ``train_holdout``,
every ``holdout_every``-th image held out) so that loss weights can be
chosen without looking at the reported (val) split. The same seed gives
byte-identical files.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Sequence

import cv2
import numpy as np

from .demo_coco_generator import CLASSES, compose_image, load_sources

SEG_CLASSES = ('background', ) + CLASSES
SEG_PALETTE = ((0, 0, 0), (220, 20, 60), (0, 130, 0), (0, 0, 230))
SEG_IGNORE_INDEX = 255
TEXTURE_NAMES = ('brick', 'grass', 'gravel')
CLS_CLASSES = tuple(f'{shape}-{texture}' for shape in CLASSES
                    for texture in TEXTURE_NAMES)
_SPLIT_SEEDS = dict(train=0, val=1)


def _check_sizes(fn: str, num_train: int, num_val: int,
                 holdout_every: int) -> None:
    if num_train < 1 or num_val < 1:
        raise ValueError(f'{fn}: num_train={num_train} and num_val={num_val} '
                         'must be >= 1')
    if holdout_every < 2:
        raise ValueError(f'{fn}: holdout_every={holdout_every} must be >= 2')


def _holdout_split(names: Sequence, holdout_every: int) -> Dict[str, List]:
    held = [n for i, n in enumerate(names) if i % holdout_every == 0]
    fit = [n for i, n in enumerate(names) if i % holdout_every != 0]
    return dict(train_fit=fit, train_holdout=held)


def _write_lines(path: str, lines: Sequence[str]) -> None:
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def label_map(objects: List[Dict], size: Sequence[int]) -> np.ndarray:
    """The class-per-pixel map (uint8) of composed objects: 0 background,
    ``cls + 1`` on an object, 255 on every border between two labels (the
    pixels whose 3x3 neighbourhood has another label)."""
    label = np.zeros(tuple(size), np.uint8)
    for obj in objects:
        label[obj['mask'] > 0] = obj['cls'] + 1
    kernel = np.ones((3, 3), np.uint8)
    border = cv2.dilate(label, kernel) != cv2.erode(label, kernel)
    label[border] = SEG_IGNORE_INDEX
    return label


def make_demo_seg(root: str,
                  num_train: int = 160,
                  num_val: int = 60,
                  img_size: Sequence[int] = (64, 64),
                  holdout_every: int = 5,
                  seed: int = 0) -> Dict[str, str]:
    """Write the semantic-segmentation set under ``root``.

    Layout (mmseg's ``BaseSegDataset``, ``.png`` images and maps)::

        root/img_dir/{train,val}/000000.png
        root/ann_dir/{train,val}/000000.png      # uint8 class ids, 255 ignore
        root/splits/{train,val,train_fit,train_holdout}.txt  # image names

    Args:
        root (str): Output folder (created).
        num_train (int): Training images.
        num_val (int): Validation (reported) images.
        img_size (Sequence[int]): (H, W).
        holdout_every (int): Every n-th training image is held out.
        seed (int): Seed; the same seed gives identical files.

    Returns:
        dict: The root and the split files.
    """
    _check_sizes('make_demo_seg', num_train, num_val, holdout_every)
    backgrounds, textures = load_sources()
    os.makedirs(osp.join(root, 'splits'), exist_ok=True)
    splits = {}
    for split, num in (('train', num_train), ('val', num_val)):
        rng = np.random.RandomState(seed + _SPLIT_SEEDS[split])
        for sub in ('img_dir', 'ann_dir'):
            os.makedirs(osp.join(root, sub, split), exist_ok=True)
        names = []
        for i in range(num):
            img, objects = compose_image(rng, tuple(img_size), backgrounds,
                                         textures)
            name = f'{i:06d}'
            cv2.imwrite(osp.join(root, 'img_dir', split, name + '.png'), img)
            cv2.imwrite(osp.join(root, 'ann_dir', split, name + '.png'),
                        label_map(objects, img_size))
            names.append(name)
        splits[split] = names
    splits.update(_holdout_split(splits['train'], holdout_every))
    out = dict(root=root)
    for split, names in splits.items():
        out[split] = osp.join(root, 'splits', f'{split}.txt')
        _write_lines(out[split], names)
    return out


def _object_crop(img: np.ndarray, obj: Dict, crop_size: int,
                 min_visible: float) -> np.ndarray:
    """A square crop around the object's visible part (None when less than
    ``min_visible`` of its polygon is visible)."""
    ys, xs = np.nonzero(obj['mask'])
    area = cv2.contourArea(obj['poly'].astype(np.float32))
    if len(xs) < 16 or len(xs) < min_visible * area:
        return None
    cx, cy = (xs.min() + xs.max() + 1) / 2, (ys.min() + ys.max() + 1) / 2
    half = 0.6 * max(xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min())
    h, w = img.shape[:2]
    x1, y1 = int(max(0, cx - half)), int(max(0, cy - half))
    x2, y2 = int(min(w, cx + half)), int(min(h, cy + half))
    return cv2.resize(img[y1:y2, x1:x2], (crop_size, crop_size),
                      interpolation=cv2.INTER_AREA)


def make_demo_cls(root: str,
                  num_train: int = 900,
                  num_val: int = 450,
                  crop_size: int = 32,
                  img_size: Sequence[int] = (128, 128),
                  min_visible: float = 0.6,
                  holdout_every: int = 5,
                  seed: int = 0) -> Dict[str, str]:
    """Write the classification set under ``root``: crops of the composited
    objects (at least ``min_visible`` of each visible), class
    ``'{shape}-{texture}'`` (:data:`CLS_CLASSES`).

    Layout (mmpretrain's ``CustomDataset`` with annotation files)::

        root/{train,val}/{class}/000000.png
        root/meta/{train,val,train_fit,train_holdout}.txt  # 'class/x.png id'

    Args:
        root (str): Output folder (created).
        num_train (int): Training crops.
        num_val (int): Validation (reported) crops.
        crop_size (int): Side of the square crops.
        img_size (Sequence[int]): (H, W) of the composed images cropped.
        min_visible (float): Minimum visible fraction of an object.
        holdout_every (int): Every n-th training crop is held out.
        seed (int): Seed; the same seed gives identical files.

    Returns:
        dict: The root and the annotation files.
    """
    _check_sizes('make_demo_cls', num_train, num_val, holdout_every)
    backgrounds, textures = load_sources()
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    splits = {}
    for split, num in (('train', num_train), ('val', num_val)):
        rng = np.random.RandomState(seed + _SPLIT_SEEDS[split])
        for name in CLS_CLASSES:
            os.makedirs(osp.join(root, split, name), exist_ok=True)
        lines: List[str] = []
        while len(lines) < num:
            img, objects = compose_image(rng, tuple(img_size), backgrounds,
                                         textures)
            for obj in objects:
                crop = _object_crop(img, obj, crop_size, min_visible)
                if crop is None or len(lines) == num:
                    continue
                label = obj['cls'] * len(TEXTURE_NAMES) + obj['texture']
                rel = f'{CLS_CLASSES[label]}/{len(lines):06d}.png'
                cv2.imwrite(osp.join(root, split, rel), crop)
                lines.append(f'{rel} {label}')
        splits[split] = lines
    splits.update(_holdout_split(splits['train'], holdout_every))
    out = dict(root=root)
    for split, lines in splits.items():
        out[split] = osp.join(root, 'meta', f'{split}.txt')
        _write_lines(out[split], lines)
    return out


def write_coco_holdout(ann_file: str, holdout_every: int = 5) -> Dict[str,
                                                                      str]:
    """Split a COCO annotation file by image into ``*_fit.json`` and
    ``*_holdout.json`` next to it (every n-th image held out)."""
    _check_sizes('write_coco_holdout', 1, 1, holdout_every)
    with open(ann_file) as f:
        coco = json.load(f)
    ids = [img['id'] for img in coco['images']]
    out = {}
    for split, keep in _holdout_split(ids, holdout_every).items():
        keep = set(keep)
        part = dict(
            coco,
            images=[i for i in coco['images'] if i['id'] in keep],
            annotations=[
                a for a in coco['annotations'] if a['image_id'] in keep
            ])
        path = ann_file[:-len('.json')] + split[len('train'):] + '.json'
        with open(path, 'w') as f:
            json.dump(part, f)
        out[split] = path
    return out

# Copyright (c) mmkd_ext contributors. All rights reserved.
"""The benchmark's embedded segmentation and classification sets and the
held-out splits of the training images."""
import hashlib
import json
import os

import cv2
import numpy as np
import pytest

from mmkd_ext.datasets import (
    CLS_CLASSES,
    make_demo_cls,
    make_demo_coco,
    make_demo_seg,
    write_coco_holdout,
)
from mmkd_ext.datasets.grid_sets import label_map


def _digest(root):
    h = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            with open(os.path.join(dirpath, name), 'rb') as f:
                h.update(name.encode() + f.read())
    return h.hexdigest()


def _lines(path):
    with open(path) as f:
        return f.read().split()


def test_label_map_borders_ignored():
    mask = np.zeros((12, 12), np.uint8)
    mask[3:9, 3:9] = 1
    label = label_map([dict(cls=1, mask=mask)], (12, 12))
    # Interior: class 2; the pixels on either side of the edge: 255.
    assert label[5, 5] == 2 and label[0, 0] == 0
    assert label[3, 5] == 255 and label[2, 5] == 255
    assert label[4, 5] == 2 and label[1, 5] == 0


def test_seg_set_deterministic_and_valid(tmp_path):
    out = make_demo_seg(str(tmp_path / 'a'), num_train=10, num_val=3)
    make_demo_seg(str(tmp_path / 'b'), num_train=10, num_val=3)
    assert _digest(tmp_path / 'a') == _digest(tmp_path / 'b')
    make_demo_seg(str(tmp_path / 'c'), num_train=10, num_val=3, seed=1)
    assert _digest(tmp_path / 'a') != _digest(tmp_path / 'c')
    names = _lines(out['train'])
    assert len(names) == 10 and len(_lines(out['val'])) == 3
    fit, held = _lines(out['train_fit']), _lines(out['train_holdout'])
    assert sorted(fit + held) == names and not set(fit) & set(held)
    seen = set()
    for name in names:
        img = cv2.imread(str(tmp_path / 'a/img_dir/train' / f'{name}.png'))
        label = cv2.imread(
            str(tmp_path / 'a/ann_dir/train' / f'{name}.png'),
            cv2.IMREAD_UNCHANGED)
        assert img.shape == (64, 64, 3) and label.shape == (64, 64)
        assert label.dtype == np.uint8
        seen |= set(np.unique(label).tolist())
    assert seen <= {0, 1, 2, 3, 255} and {0, 255} < seen


def test_cls_set_deterministic_and_labelled(tmp_path):
    out = make_demo_cls(str(tmp_path / 'a'), num_train=40, num_val=10)
    make_demo_cls(str(tmp_path / 'b'), num_train=40, num_val=10)
    assert _digest(tmp_path / 'a') == _digest(tmp_path / 'b')
    with open(out['train']) as f:
        rows = [line.split() for line in f.read().splitlines()]
    assert len(rows) == 40
    for rel, label in rows:
        # The folder is the class name of the label.
        assert rel.split('/')[0] == CLS_CLASSES[int(label)]
        img = cv2.imread(str(tmp_path / 'a/train' / rel))
        assert img.shape == (32, 32, 3)
    assert len({label for _, label in rows}) >= 5
    with open(out['train_holdout']) as f:
        held = f.read().splitlines()
    assert len(held) == 8 and held[0] == ' '.join(rows[0])


def test_coco_holdout(tmp_path):
    out = make_demo_coco(str(tmp_path), num_train=10, num_val=2)
    parts = write_coco_holdout(out['train_ann'], holdout_every=5)
    with open(out['train_ann']) as f:
        full = json.load(f)
    loaded = {}
    for split, path in parts.items():
        with open(path) as f:
            loaded[split] = json.load(f)
    fit, held = loaded['train_fit'], loaded['train_holdout']
    assert [i['id'] for i in held['images']] == [1, 6]
    assert len(fit['images']) + len(held['images']) == 10
    assert len(fit['annotations']) + len(held['annotations']) == len(
        full['annotations'])
    held_ids = {i['id'] for i in held['images']}
    assert all(a['image_id'] in held_ids for a in held['annotations'])


def test_bad_sizes():
    with pytest.raises(ValueError, match='num_train'):
        make_demo_seg('/tmp/never', num_train=0)
    with pytest.raises(ValueError, match='holdout_every'):
        make_demo_cls('/tmp/never_cls', num_train=4, num_val=2,
                      holdout_every=1)

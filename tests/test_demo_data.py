# Copyright (c) mmkd_ext contributors. All rights reserved.
"""The embedded demo set: valid COCO, deterministic, sensible content."""
import hashlib
import json
import os

import numpy as np
import pytest
from pycocotools.coco import COCO

from mmkd_ext.datasets import DEMO_CLASSES, make_demo_coco


def _digest(root):
    h = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            with open(os.path.join(dirpath, name), 'rb') as f:
                h.update(name.encode() + f.read())
    return h.hexdigest()


def test_valid_coco_and_deterministic(tmp_path):
    out = make_demo_coco(str(tmp_path / 'a'), num_train=12, num_val=4)
    make_demo_coco(str(tmp_path / 'b'), num_train=12, num_val=4)
    assert _digest(tmp_path / 'a') == _digest(tmp_path / 'b')
    make_demo_coco(str(tmp_path / 'c'), num_train=12, num_val=4, seed=1)
    assert _digest(tmp_path / 'a') != _digest(tmp_path / 'c')

    coco = COCO(out['train_ann'])
    assert len(coco.getImgIds()) == 12
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())
            ] == list(DEMO_CLASSES)
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) >= 12
    for ann in anns:
        x, y, w, h = ann['bbox']
        assert w > 0 and h > 0 and 0 <= x and x + w <= 128
        assert 0 <= y and y + h <= 128
        mask = coco.annToMask(ann)
        # The polygon mask agrees with the stored area and lies in its box.
        assert abs(int(mask.sum()) - ann['area']) <= 0.25 * ann['area']
        ys, xs = np.nonzero(mask)
        assert xs.min() >= x - 1 and xs.max() <= x + w
    with open(out['val_ann']) as f:
        assert len(json.load(f)['images']) == 4


def test_bad_sizes():
    with pytest.raises(ValueError, match='num_train'):
        make_demo_coco('/tmp/never', num_train=0)

# Copyright (c) mmkd_ext contributors. All rights reserved.
"""A small, deterministic COCO-format detection set made from real photos.

Nothing can be downloaded where mmkd_ext is tested, so the end-to-end demo,
the tool tests and the COCO-C evaluation run on data generated here: crops of
the BSD/CC0 sample photographs that scikit-image ships are the backgrounds,
and 1-4 objects of three shape classes (disc, square, triangle), textured
with scikit-image's brick/grass/gravel samples and tinted with a random
colour, are composited on them. Every object has its box, polygon mask and
area. The same seed gives byte-identical images and annotation files.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

CLASSES = ('disc', 'square', 'triangle')
_BACKGROUNDS = ('astronaut.png', 'coffee.png', 'chelsea.png', 'rocket.jpg',
                'hubble_deep_field.jpg', 'motorcycle_left.png', 'retina.jpg',
                'ihc.png')
_TEXTURES = ('brick.png', 'grass.png', 'gravel.png')


def _skimage_image(name: str) -> np.ndarray:
    import skimage
    path = osp.join(osp.dirname(skimage.__file__), 'data', name)
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(
            f'scikit-image sample image {path} is missing; reinstall '
            'scikit-image (it ships the sample photographs).')
    return img


def _polygon(cls: int, cx: float, cy: float, r: float,
             angle: float) -> np.ndarray:
    """Vertices (P, 2) of a shape of class ``cls`` centred at (cx, cy)."""
    n = (24, 4, 3)[cls]
    start = angle + (np.pi / 4 if cls == 1 else 0.0)
    t = start + 2 * np.pi * np.arange(n) / n
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)


def load_sources() -> Tuple[List[np.ndarray], List[np.ndarray]]:
    """The background photographs and the object textures."""
    return ([_skimage_image(n) for n in _BACKGROUNDS],
            [_skimage_image(n) for n in _TEXTURES])


def compose_image(rng: np.random.RandomState, size: Tuple[int, int],
                  backgrounds: List[np.ndarray],
                  textures: List[np.ndarray]) -> Tuple[np.ndarray, List[Dict]]:
    """One photo crop with 1-4 composited objects.

    Returns:
        tuple: The BGR image (H, W, 3) and its objects, in drawing order,
        each a dict with ``cls`` (index into :data:`CLASSES`), ``texture``
        (index into the textures), ``poly`` (the drawn polygon) and ``mask``
        (uint8 (H, W), the visible part: later objects hide earlier ones).
    """
    h, w = size
    bg = backgrounds[rng.randint(len(backgrounds))]
    scale = rng.uniform(0.3, 0.8)
    bh, bw = int(bg.shape[0] * scale), int(bg.shape[1] * scale)
    bg = cv2.resize(bg, (max(bw, w), max(bh, h)),
                    interpolation=cv2.INTER_AREA)
    y0 = rng.randint(bg.shape[0] - h + 1)
    x0 = rng.randint(bg.shape[1] - w + 1)
    img = bg[y0:y0 + h, x0:x0 + w].copy()
    objects = []
    for _ in range(rng.randint(1, 5)):
        cls = rng.randint(len(CLASSES))
        r = rng.uniform(0.08, 0.22) * min(h, w)
        cx, cy = rng.uniform(r, w - r), rng.uniform(r, h - r)
        poly = _polygon(cls, cx, cy, r, rng.uniform(0, 2 * np.pi))
        mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
        tex_idx = rng.randint(len(textures))
        tex = textures[tex_idx]
        ty = rng.randint(tex.shape[0] - h + 1)
        tx = rng.randint(tex.shape[1] - w + 1)
        patch = tex[ty:ty + h, tx:tx + w].astype(np.float32)
        tint = rng.uniform(0.3, 1.0, size=3).astype(np.float32)
        patch = np.clip(patch * tint * 1.3, 0, 255)
        img[mask > 0] = patch[mask > 0].astype(np.uint8)
        ys, xs = np.nonzero(mask)
        if len(xs) == 0:
            continue
        # Later objects may hide earlier ones: keep the visible part only.
        for obj in objects:
            obj['mask'][mask > 0] = 0
        objects.append(dict(cls=cls, texture=tex_idx, mask=mask, poly=poly))
    return img, objects


def _make_image(rng: np.random.RandomState, size: Tuple[int, int],
                backgrounds: List[np.ndarray],
                textures: List[np.ndarray]) -> Tuple[np.ndarray, List[Dict]]:
    img, objects = compose_image(rng, size, backgrounds, textures)
    anns = []
    for obj in objects:
        ys, xs = np.nonzero(obj['mask'])
        if len(xs) < 16:
            continue
        x1, y1 = float(xs.min()), float(ys.min())
        x2, y2 = float(xs.max() + 1), float(ys.max() + 1)
        contours, _ = cv2.findContours(obj['mask'], cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_SIMPLE)
        segm = [
            c.reshape(-1).astype(float).tolist() for c in contours
            if len(c) >= 3
        ]
        if not segm:
            continue
        anns.append(
            dict(category_id=obj['cls'] + 1,
                 bbox=[x1, y1, x2 - x1, y2 - y1],
                 area=float(obj['mask'].sum()),
                 segmentation=segm,
                 iscrowd=0))
    return img, anns


def make_demo_coco(root: str,
                   num_train: int = 300,
                   num_val: int = 60,
                   img_size: Sequence[int] = (128, 128),
                   seed: int = 0) -> Dict[str, str]:
    """Write the demo set under ``root``.

    Layout (mmdet's COCO layout)::

        root/annotations/instances_{train,val}.json
        root/{train,val}/000000.png ...

    Args:
        root (str): Output folder (created).
        num_train (int): Training images.
        num_val (int): Validation images.
        img_size (Sequence[int]): (H, W) of every image.
        seed (int): Seed; the same seed gives identical files.

    Returns:
        dict: Paths of the two annotation files and image folders.
    """
    if num_train < 1 or num_val < 1:
        raise ValueError(f'make_demo_coco: num_train={num_train} and '
                         f'num_val={num_val} must be >= 1')
    backgrounds, textures = load_sources()
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    out = {}
    for split, num, split_seed in (('train', num_train, seed),
                                   ('val', num_val, seed + 1)):
        rng = np.random.RandomState(split_seed)
        os.makedirs(osp.join(root, split), exist_ok=True)
        images, annotations = [], []
        for i in range(num):
            img, anns = _make_image(rng, tuple(img_size), backgrounds,
                                    textures)
            name = f'{i:06d}.png'
            cv2.imwrite(osp.join(root, split, name), img)
            images.append(
                dict(id=i + 1, file_name=name, height=int(img_size[0]),
                     width=int(img_size[1])))
            for ann in anns:
                ann.update(id=len(annotations) + 1, image_id=i + 1)
                annotations.append(ann)
        coco = dict(
            images=images,
            annotations=annotations,
            categories=[
                dict(id=i + 1, name=n, supercategory='shape')
                for i, n in enumerate(CLASSES)
            ])
        ann_file = osp.join(root, 'annotations', f'instances_{split}.json')
        with open(ann_file, 'w') as f:
            json.dump(coco, f)
        out[f'{split}_ann'] = ann_file
        out[f'{split}_img'] = osp.join(root, split)
    return out

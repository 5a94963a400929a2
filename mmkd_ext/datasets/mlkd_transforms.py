# Copyright (c) mmkd_ext contributors. All rights reserved.
"""The strong augmentation of MLKD's weak/strong views (CVPR 2023)."""
from typing import Callable, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS
from PIL import Image, ImageEnhance, ImageOps

_AFFINE = Image.Transform.AFFINE


def _affine(img: Image.Image, coeffs: Tuple[float, ...]) -> Image.Image:
    return img.transform(img.size, _AFFINE, coeffs)


# (name, operation(img, value), value range); value ~ U(low, high).
_OPS: Tuple[Tuple[str, Callable, float, float], ...] = (
    ('AutoContrast', lambda img, v: ImageOps.autocontrast(img), 0, 1),
    ('Brightness',
     lambda img, v: ImageEnhance.Brightness(img).enhance(v), 0.05, 0.95),
    ('Color', lambda img, v: ImageEnhance.Color(img).enhance(v), 0.05, 0.95),
    ('Contrast',
     lambda img, v: ImageEnhance.Contrast(img).enhance(v), 0.05, 0.95),
    ('Equalize', lambda img, v: ImageOps.equalize(img), 0, 1),
    ('Identity', lambda img, v: img, 0, 1),
    ('Posterize',
     lambda img, v: ImageOps.posterize(img, max(1, int(v))), 4, 8),
    ('Rotate', lambda img, v: img.rotate(v), -30, 30),
    ('Sharpness',
     lambda img, v: ImageEnhance.Sharpness(img).enhance(v), 0.05, 0.95),
    ('ShearX', lambda img, v: _affine(img, (1, v, 0, 0, 1, 0)), -0.3, 0.3),
    ('ShearY', lambda img, v: _affine(img, (1, 0, 0, v, 1, 0)), -0.3, 0.3),
    ('Solarize', lambda img, v: ImageOps.solarize(img, v), 0, 256),
    ('TranslateX',
     lambda img, v: _affine(img, (1, 0, v * img.size[0], 0, 1, 0)), -0.3,
     0.3),
    ('TranslateY',
     lambda img, v: _affine(img, (1, 0, 0, 0, 1, v * img.size[1])), -0.3,
     0.3),
)


@TRANSFORMS.register_module()
class FixMatchRandAugment(BaseTransform):
    """FixMatch-style RandAugment + Cutout: MLKD's strong augmentation.

    `Multi-Level Logit Distillation` (CVPR 2023) distils on a weak view
    (RandomResizedCrop + flip) and a strong view of every image (an
    independent RandomResizedCrop + flip, then this transform). Build both
    with mmpretrain's ``MultiView``::

        dict(type='MultiView', num_views=[1, 1], transforms=[
            [dict(type='RandomResizedCrop', scale=224),
             dict(type='RandomFlip', prob=0.5, direction='horizontal')],
            [dict(type='RandomResizedCrop', scale=224),
             dict(type='RandomFlip', prob=0.5, direction='horizontal'),
             dict(type='FixMatchRandAugment')]])

    As in the MLKD code: ``num_ops`` operations are drawn uniformly *with
    replacement* from 14 (AutoContrast, Brightness, Color, Contrast,
    Equalize, Identity, Posterize, Rotate, Sharpness, ShearX, ShearY,
    Solarize, TranslateX, TranslateY), each with a magnitude drawn
    uniformly from its range (Brightness/Color/Contrast/Sharpness factors in
    [0.05, 0.95], Posterize bits in [4, 8], rotation in [-30, 30] degrees,
    shear in [-0.3, 0.3], Solarize threshold in [0, 256], translation in
    [-0.3, 0.3] of the side; PIL's defaults, i.e. black fill, no
    re-centring). Then a Cutout square of side ``v * width``,
    ``v ~ U(0, cutout_max)``, centred uniformly in the image and clipped to
    it, is filled with ``cutout_color``.

    Operations run on an RGB PIL image; ``img`` is the usual BGR uint8
    (H, W, 3) array in and out. Randomness comes from numpy's global
    generator (seeded per worker by mmengine), so a seed reproduces it.

    Args:
        num_ops (int): Operations per image. Defaults to 2.
        cutout_max (float): Largest Cutout side as a fraction of the
            width, in [0, 1]. Defaults to 0.5.
        cutout_color (Sequence[int]): RGB fill of the Cutout square.
            Defaults to (125, 123, 114).

    Required keys: img. Modified keys: img.
    """

    def __init__(self,
                 num_ops: int = 2,
                 cutout_max: float = 0.5,
                 cutout_color: Sequence[int] = (125, 123, 114)) -> None:
        if isinstance(num_ops, bool) or not isinstance(num_ops,
                                                       int) or num_ops < 0:
            raise ValueError('FixMatchRandAugment: num_ops must be an int '
                             f'>= 0, got {num_ops!r}')
        if not 0 <= cutout_max <= 1:
            raise ValueError('FixMatchRandAugment: cutout_max must be in '
                             f'[0, 1], got {cutout_max}')
        if len(cutout_color) != 3:
            raise ValueError('FixMatchRandAugment: cutout_color must be an '
                             f'RGB triple, got {cutout_color!r}')
        self.num_ops = num_ops
        self.cutout_max = cutout_max
        self.cutout_color = tuple(int(c) for c in cutout_color)

    def transform(self, results: dict) -> dict:
        """Augment ``results['img']``."""
        img = results['img']
        if not (isinstance(img, np.ndarray) and img.dtype == np.uint8
                and img.ndim == 3 and img.shape[2] == 3):
            desc = (f'{img.dtype} array of shape {img.shape}' if isinstance(
                img, np.ndarray) else type(img).__name__)
            raise ValueError('FixMatchRandAugment: expects a uint8 BGR image '
                             f'of shape (H, W, 3), got a {desc}')
        pil = Image.fromarray(np.ascontiguousarray(img[..., ::-1]))
        for idx in np.random.randint(len(_OPS), size=self.num_ops):
            _, op, low, high = _OPS[idx]
            pil = op(pil, low + (high - low) * np.random.random())
        out = np.array(pil)[..., ::-1].copy()

        height, width = out.shape[:2]
        side = np.random.random() * self.cutout_max * width
        cx, cy = np.random.uniform(0, width), np.random.uniform(0, height)
        x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        x1, y1 = int(min(width, x0 + side)), int(min(height, y0 + side))
        out[y0:y1, x0:x1] = self.cutout_color[::-1]
        results['img'] = out
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_ops={self.num_ops}, '
                f'cutout_max={self.cutout_max}, '
                f'cutout_color={self.cutout_color})')

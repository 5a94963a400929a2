# Copyright (c) mmkd_ext contributors. All rights reserved.
"""The image corruptions of the robustness benchmarks, made reproducible.

`Benchmarking Robustness in Object Detection: Autonomous Driving when
Winter is Coming <https://arxiv.org/abs/1907.07484>`_ (Michaelis et al.,
2019) evaluates a detector on the COCO val images corrupted on the fly by
the 15 ImageNet-C corruptions (Hendrycks & Dietterich, ICLR 2019) at
severities 1-5; Kamann & Rother (CVPR 2020) do the same for semantic
segmentation on Cityscapes. The corruptions come from the
``imagecorruptions`` package; we use its maintained fork
``imagecorruptions-imaug`` (same import name), because the original
(1.1.2, the one mmdet's ``Corrupt`` imports) fails ``glass_blur`` and
``gaussian_blur`` on current scikit-image.

The corruptions draw random numbers from NumPy's global generator (and two
of them from their own unseeded ones), so two runs, or one run split over a
different number of processes, would see different images. Here every
image is corrupted with a seed derived from (base seed, corruption,
severity, image), and NumPy's global state is restored afterwards.
"""
import zlib
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.registry import TRANSFORMS

#: The 15 benchmark corruptions, grouped as in the papers' plots.
CORRUPTION_FAMILIES: Dict[str, Tuple[str, ...]] = {
    'noise': ('gaussian_noise', 'shot_noise', 'impulse_noise'),
    'blur': ('defocus_blur', 'glass_blur', 'motion_blur', 'zoom_blur'),
    'weather': ('snow', 'frost', 'fog', 'brightness'),
    'digital': ('contrast', 'elastic_transform', 'pixelate',
                'jpeg_compression'),
}
BENCHMARK_CORRUPTIONS: Tuple[str, ...] = tuple(
    name for names in CORRUPTION_FAMILIES.values() for name in names)
#: ImageNet-C's held-out corruptions (not part of mPC in the papers).
HOLDOUT_CORRUPTIONS: Tuple[str, ...] = ('speckle_noise', 'gaussian_blur',
                                        'spatter', 'saturate')
ALL_CORRUPTIONS = BENCHMARK_CORRUPTIONS + HOLDOUT_CORRUPTIONS
SEVERITIES: Tuple[int, ...] = (1, 2, 3, 4, 5)
#: Names that select several corruptions at once.
CORRUPTION_GROUPS: Dict[str, Tuple[str, ...]] = dict(
    benchmark=BENCHMARK_CORRUPTIONS,
    holdout=HOLDOUT_CORRUPTIONS,
    all=ALL_CORRUPTIONS,
    **CORRUPTION_FAMILIES)
# Corruptions that take their own seed instead of NumPy's global state.
_SEED_KWARG = ('glass_blur', 'impulse_noise')


def family_of(corruption: str) -> str:
    """The family ('noise', 'blur', 'weather', 'digital' or 'holdout')."""
    for family, names in CORRUPTION_FAMILIES.items():
        if corruption in names:
            return family
    if corruption in HOLDOUT_CORRUPTIONS:
        return 'holdout'
    raise ValueError(f'unknown corruption {corruption!r}')


def resolve_corruptions(names: Iterable[str]) -> List[str]:
    """Expand group names and check corruption names.

    Args:
        names (Iterable[str]): Corruption names and/or group names
            (``benchmark``, ``all``, ``holdout``, ``noise``, ``blur``,
            ``weather``, ``digital``).

    Returns:
        list[str]: The corruptions, without duplicates, in benchmark order.

    Raises:
        ValueError: Naming every unknown name and the valid ones.
    """
    names = list(names)
    unknown = [
        n for n in names
        if n not in ALL_CORRUPTIONS and n not in CORRUPTION_GROUPS
    ]
    if unknown:
        raise ValueError(
            f'unknown corruption name(s) {unknown}. Valid corruptions: '
            f'{list(ALL_CORRUPTIONS)}; groups: {list(CORRUPTION_GROUPS)}')
    if not names:
        raise ValueError('no corruption selected')
    chosen = set()
    for n in names:
        chosen.update(CORRUPTION_GROUPS.get(n, (n, )))
    return [n for n in ALL_CORRUPTIONS if n in chosen]


def check_severities(severities: Iterable[int]) -> List[int]:
    """Sorted, unique severities; each must be an int in 1..5."""
    severities = list(severities)
    bad = [
        s for s in severities
        if isinstance(s, bool) or not isinstance(s, (int, np.integer))
        or s not in SEVERITIES
    ]
    if bad or not severities:
        raise ValueError(f'severities must be integers in {list(SEVERITIES)}'
                         f', got {severities}')
    return sorted({int(s) for s in severities})


def corruption_seed(base_seed: int, corruption: str, severity: int,
                    key: str) -> int:
    """A 32-bit seed for one (corruption, severity, image)."""
    text = f'{base_seed}|{corruption}|{severity}|{key}'
    return zlib.crc32(text.encode('utf-8'))


def corrupt_image(img: np.ndarray,
                  corruption: str,
                  severity: int,
                  seed: int = 0) -> np.ndarray:
    """Corrupt one image, deterministically for a given ``seed``.

    Args:
        img (np.ndarray): uint8 image (H, W, 3) or (H, W), H, W >= 32.
        corruption (str): One of :data:`ALL_CORRUPTIONS`.
        severity (int): 1..5.
        seed (int): Seed of the corruption's random numbers (0..2**32-1).

    Returns:
        np.ndarray: uint8, the shape of ``img``.
    """
    from imagecorruptions import corrupt
    if corruption not in ALL_CORRUPTIONS:
        resolve_corruptions([corruption])
    check_severities([severity])
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
        raise TypeError(f'corrupt_image: expected a uint8 numpy image, got '
                        f'{type(img).__name__} '
                        f'{getattr(img, "dtype", None)}')
    if img.ndim not in (2, 3) or min(img.shape[:2]) < 32 or (
            img.ndim == 3 and img.shape[2] not in (1, 3)):
        raise ValueError(f'corrupt_image: expected an (H, W, 3) or (H, W) '
                         f'image with H, W >= 32, got {img.shape}')
    kwargs = dict(seed=seed) if corruption in _SEED_KWARG else {}
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        out = corrupt(img, severity=severity, corruption_name=corruption,
                      **kwargs)
    finally:
        np.random.set_state(state)
    # imagecorruptions returns 3 channels for grey input; some corruptions
    # (e.g. pixelate) may also change the size by a pixel on odd shapes.
    if out.shape[:2] != img.shape[:2]:
        import cv2
        out = cv2.resize(out, (img.shape[1], img.shape[0]),
                         interpolation=cv2.INTER_LINEAR)
    if img.ndim == 2 or img.shape[-1] == 1:
        out = out[..., :1] if img.ndim == 3 else out[..., 0]
    return np.ascontiguousarray(out)


@TRANSFORMS.register_module()
class ImageCorruption(BaseTransform):
    """Corrupt ``results['img']`` with a benchmark corruption.

    A reproducible replacement of mmdet's ``Corrupt``: the random numbers of
    every image come from a seed derived from ``seed``, the corruption, the
    severity and the image (``img_path``'s file name and ``img_id``), so the
    corrupted set is the same in every run and for any number of processes.
    Registered in mmengine's root ``TRANSFORMS`` registry, hence usable in
    mmdet, mmseg and mmpretrain pipelines; place it right after
    ``LoadImageFromFile``.

    Like Michaelis et al.'s mmdetection code (and mmdet's ``Corrupt``), the
    array is corrupted as loaded (BGR for mmcv's loader); ``to_rgb=True``
    corrupts it in RGB order instead (the colour-dependent corruptions,
    e.g. ``spatter`` and ``snow``, then match ImageNet-C's definition).

    Required keys: ``img``. Modified keys: ``img``. Added keys:
    ``corruption``, ``severity``.

    Args:
        corruption (str): A corruption name, see :data:`ALL_CORRUPTIONS`.
        severity (int): 1..5, or 0 for the clean image.
        seed (int): Base seed. Defaults to 0.
        to_rgb (bool): Corrupt the image in RGB order (the input is taken
            as BGR). Defaults to False.
    """

    def __init__(self,
                 corruption: str,
                 severity: int,
                 seed: int = 0,
                 to_rgb: bool = False) -> None:
        resolve_corruptions([corruption])
        if corruption in CORRUPTION_GROUPS:
            raise ValueError(f'ImageCorruption: {corruption!r} is a group; '
                             'give one corruption name')
        if severity != 0:
            check_severities([severity])
        self.corruption = corruption
        self.severity = int(severity)
        self.seed = int(seed)
        self.to_rgb = to_rgb

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(corruption={self.corruption!r}, '
                f'severity={self.severity}, seed={self.seed}, '
                f'to_rgb={self.to_rgb})')

    def image_seed(self, results: dict) -> int:
        """The seed of the image in ``results``."""
        path = str(results.get('img_path') or '').replace('\\', '/')
        key = f"{path.rsplit('/', 1)[-1]}#{results.get('img_id', '')}"
        return corruption_seed(self.seed, self.corruption, self.severity,
                               key)

    def transform(self, results: dict) -> Optional[dict]:
        """Corrupt ``results['img']`` in place of the clean one."""
        results['corruption'] = self.corruption
        results['severity'] = self.severity
        if self.severity == 0:
            return results
        img = results['img']
        if self.to_rgb:
            img = np.ascontiguousarray(img[..., ::-1])
        img = corrupt_image(
            img.astype(np.uint8), self.corruption, self.severity,
            self.image_seed(results))
        if self.to_rgb:
            img = np.ascontiguousarray(img[..., ::-1])
        results['img'] = img
        return results

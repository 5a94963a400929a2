# Copyright (c) mmkd_ext contributors. All rights reserved.
"""The image corruptions of COCO-C / Cityscapes-C: all 19 run, are seeded,
and the pipeline transform is reproducible per image."""
import numpy as np
import pytest

from mmkd_ext.robustness import (
    ALL_CORRUPTIONS,
    BENCHMARK_CORRUPTIONS,
    CORRUPTION_FAMILIES,
    HOLDOUT_CORRUPTIONS,
    ImageCorruption,
    check_severities,
    corrupt_image,
    family_of,
    resolve_corruptions,
)

# Corruptions without random numbers: the seed does not matter.
DETERMINISTIC = {
    'defocus_blur', 'zoom_blur', 'brightness', 'contrast', 'pixelate',
    'jpeg_compression', 'gaussian_blur', 'saturate'
}


@pytest.fixture(scope='module')
def image():
    """A 64x80 crop of a real photo (texture matters for blur/JPEG)."""
    from skimage import data
    img = data.astronaut()[100:164, 150:230, ::-1]  # BGR, as mmcv loads
    return np.ascontiguousarray(img)


def test_benchmark_lists():
    assert len(BENCHMARK_CORRUPTIONS) == 15
    assert len(set(ALL_CORRUPTIONS)) == 19
    assert sum(len(v) for v in CORRUPTION_FAMILIES.values()) == 15
    # The names and order of the imagecorruptions package itself.
    from imagecorruptions import get_corruption_names
    assert list(BENCHMARK_CORRUPTIONS) == get_corruption_names('common')
    assert list(HOLDOUT_CORRUPTIONS) == get_corruption_names('validation')
    for fam in CORRUPTION_FAMILIES:
        assert list(CORRUPTION_FAMILIES[fam]) == get_corruption_names(fam)
    assert family_of('glass_blur') == 'blur'
    assert family_of('spatter') == 'holdout'


@pytest.mark.parametrize('name', ALL_CORRUPTIONS)
def test_every_corruption_runs(image, name):
    """All 15 benchmark corruptions (glass_blur included) and the 4 held-out
    ones (gaussian_blur included) run on current scikit-image."""
    out = corrupt_image(image, name, 3, seed=7)
    assert out.dtype == np.uint8 and out.shape == image.shape
    assert not np.array_equal(out, image), name
    again = corrupt_image(image, name, 3, seed=7)
    np.testing.assert_array_equal(out, again)
    other = corrupt_image(image, name, 3, seed=8)
    if name in DETERMINISTIC:
        np.testing.assert_array_equal(out, other)
    else:
        assert not np.array_equal(out, other), name


@pytest.mark.parametrize('name', ['gaussian_noise', 'defocus_blur',
                                  'shot_noise', 'contrast'])
def test_severity_increases_distortion(image, name):
    errors = [
        np.abs(corrupt_image(image, name, s, seed=0).astype(float) -
               image).mean() for s in range(1, 6)
    ]
    assert all(a < b for a, b in zip(errors, errors[1:])), errors


def test_global_numpy_state_is_restored(image):
    np.random.seed(123)
    expected = np.random.rand(3)
    np.random.seed(123)
    corrupt_image(image, 'gaussian_noise', 2, seed=5)
    corrupt_image(image, 'snow', 2, seed=5)
    np.testing.assert_array_equal(np.random.rand(3), expected)


def test_grey_image(image):
    grey = np.ascontiguousarray(image[..., 0])
    out = corrupt_image(grey, 'shot_noise', 2)
    assert out.shape == grey.shape and out.dtype == np.uint8


def test_resolve_corruptions():
    assert resolve_corruptions(['benchmark']) == list(BENCHMARK_CORRUPTIONS)
    assert resolve_corruptions(['fog', 'noise', 'fog']) == [
        'gaussian_noise', 'shot_noise', 'impulse_noise', 'fog'
    ]
    assert resolve_corruptions(['all']) == list(ALL_CORRUPTIONS)
    with pytest.raises(ValueError, match=r"\['gausian_noise'\]"):
        resolve_corruptions(['gausian_noise', 'fog'])
    with pytest.raises(ValueError, match='no corruption'):
        resolve_corruptions([])
    assert check_severities([5, 1, 1]) == [1, 5]
    for bad in ([0], [6], [2.5], [True], []):
        with pytest.raises(ValueError, match='severities'):
            check_severities(bad)


def test_bad_images():
    with pytest.raises(TypeError, match='uint8'):
        corrupt_image(np.zeros((40, 40, 3), np.float32), 'fog', 1)
    with pytest.raises(ValueError, match='H, W >= 32'):
        corrupt_image(np.zeros((16, 40, 3), np.uint8), 'fog', 1)
    with pytest.raises(ValueError, match='unknown corruption'):
        corrupt_image(np.zeros((40, 40, 3), np.uint8), 'rain', 1)


def test_transform_in_mmdet_and_mmseg_pipelines(image):
    from mmdet.registry import TRANSFORMS as DET
    from mmseg.registry import TRANSFORMS as SEG
    cfg = dict(type='ImageCorruption', corruption='impulse_noise',
               severity=2, seed=3)
    det, seg = DET.build(cfg), SEG.build(cfg)
    assert isinstance(det, ImageCorruption)
    assert isinstance(seg, ImageCorruption)
    res = dict(img=image.copy(), img_path='/a/b/000001.png', img_id=1)
    out = det(dict(res))
    assert out['corruption'] == 'impulse_noise' and out['severity'] == 2
    # Same image key -> same corruption, in another folder too.
    np.testing.assert_array_equal(
        out['img'], seg(dict(res, img_path='/x/000001.png'))['img'])
    # Another image -> other random numbers.
    other = det(dict(res, img_path='/a/b/000002.png', img_id=2))['img']
    assert not np.array_equal(out['img'], other)
    # The transform is corrupt_image with the per-image seed.
    np.testing.assert_array_equal(
        out['img'],
        corrupt_image(image, 'impulse_noise', 2, det.image_seed(res)))
    # Severity 0 is the clean image.
    clean = DET.build(dict(cfg, severity=0))(dict(res))
    np.testing.assert_array_equal(clean['img'], image)


def test_transform_to_rgb(image):
    res = dict(img=image.copy(), img_path='x.png', img_id=0)
    rgb = ImageCorruption('spatter', 3, to_rgb=True)
    seed = rgb.image_seed(res)
    expected = corrupt_image(image[..., ::-1].copy(), 'spatter', 3,
                             seed)[..., ::-1]
    np.testing.assert_array_equal(rgb(dict(res))['img'], expected)
    bgr = ImageCorruption('spatter', 3)(dict(res))['img']
    assert not np.array_equal(bgr, expected)


def test_transform_bad_args():
    with pytest.raises(ValueError, match='unknown corruption'):
        ImageCorruption('rain', 1)
    with pytest.raises(ValueError, match='group'):
        ImageCorruption('noise', 1)
    with pytest.raises(ValueError, match='severities'):
        ImageCorruption('fog', 6)


def test_full_grid_on_one_image(image):
    """All 19 corruptions at all 5 severities."""
    for name in ALL_CORRUPTIONS:
        for s in range(1, 6):
            out = corrupt_image(image, name, s, seed=s)
            assert out.shape == image.shape and out.dtype == np.uint8

# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Per-pixel class labels of a batch, as letKD's intermediate target reads
them (image labels and segmentation maps alike)."""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def pixel_labels(data_samples: Sequence,
                 size: Tuple[int, int],
                 num_classes: int,
                 ignore_index: int = 255) -> Tensor:
    """Per-pixel class labels of a batch at a feature map's size.

    An image label (mmpretrain ``gt_label``) is repeated over the map; a
    segmentation label map (mmseg ``gt_sem_seg``) is resized with nearest
    neighbour interpolation. ``ignore_index`` becomes -1.

    Args:
        data_samples (Sequence): The batch's data samples.
        size (tuple): (H, W) of the feature map.
        num_classes (int): Labels must lie in [0, num_classes).
        ignore_index (int): Label of unlabeled pixels. Defaults to 255.

    Returns:
        Tensor: (N, H, W) int64 labels, -1 where ignored.
    """
    labels = []
    for i, sample in enumerate(data_samples):
        if 'gt_sem_seg' in sample:
            seg = sample.gt_sem_seg.data
            seg = F.interpolate(
                seg.reshape(1, 1, *seg.shape[-2:]).float(),
                size=size,
                mode='nearest').reshape(*size).long()
        elif 'gt_label' in sample:
            label = sample.gt_label.reshape(-1)
            if label.numel() != 1:
                raise ValueError(
                    f'letKD: sample {i} has {label.numel()} labels; the '
                    'intermediate target needs exactly one label per image')
            seg = label.long().expand(*size)
        else:
            raise KeyError(f'letKD: sample {i} ({type(sample).__name__}) has '
                           'neither gt_label nor gt_sem_seg')
        labels.append(seg)
    labels = torch.stack(labels)
    labels = labels.masked_fill(labels == ignore_index, -1)
    bad = (labels < -1) | (labels >= num_classes)
    if bad.any():
        raise ValueError(
            f'letKD: labels {labels[bad].unique().tolist()[:8]} are outside '
            f'[0, {num_classes}) and are not ignore_index={ignore_index}')
    return labels

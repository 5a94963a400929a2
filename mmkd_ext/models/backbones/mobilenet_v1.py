# Copyright (c) mmkd_ext contributors. All rights reserved.
"""MobileNetV1 (Howard et al., 2017, arXiv 1704.04861) for mmpretrain.

mmpretrain ships MobileNetV2/V3 only, while the ImageNet settings of WTTM,
Z-score logit standardization, CanKD and letKD use "MobileNet" = MobileNetV1
(the ResNet-50 -> MobileNet pair of mdistiller, 1024 output channels).
"""
from typing import Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS
from torch import Tensor

# (out_channels, stride) of the 13 depthwise-separable blocks.
_ARCH = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1),
         (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


@MODELS.register_module()
class MobileNetV1(BaseBackbone):
    """MobileNetV1 backbone.

    A 3x3 stride-2 stem (32 channels) followed by 13 depthwise-separable
    blocks (3x3 depthwise conv-BN-ReLU, 1x1 pointwise conv-BN-ReLU). For a
    224x224 input the last block gives a (B, 1024, 7, 7) map.

    Args:
        widen_factor (float): Channel multiplier. Defaults to 1.0.
        out_indices (Sequence[int]): Blocks (0..12) whose outputs are
            returned. Defaults to (12,), the last map before global pooling.
        frozen_stages (int): Blocks 0..frozen_stages-1 (and the stem) are
            frozen; -1 freezes nothing. Defaults to -1.
        norm_eval (bool): Keep BN layers in eval mode during training.
        norm_cfg (dict): Normalization config. Defaults to BN.
        act_cfg (dict): Activation config. Defaults to ReLU.
        init_cfg (dict | list[dict], optional): Initialization config.
    """

    def __init__(self,
                 widen_factor: float = 1.0,
                 out_indices: Sequence[int] = (12, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg=[
                     dict(type='Kaiming', layer=['Conv2d']),
                     dict(type='Constant', val=1, layer=['_BatchNorm'])
                 ]):
        super().__init__(init_cfg)
        for idx in out_indices:
            if not 0 <= idx < len(_ARCH):
                raise ValueError(f'MobileNetV1: out_indices must be in '
                                 f'[0, {len(_ARCH) - 1}], got {idx}')
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        stem_ch = int(32 * widen_factor)
        self.stem = ConvModule(3, stem_ch, 3, stride=2, padding=1, bias=False,
                               norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.layers = nn.ModuleList()
        in_ch = stem_ch
        for out_ch, stride in _ARCH:
            out_ch = int(out_ch * widen_factor)
            self.layers.append(
                nn.Sequential(
                    ConvModule(in_ch, in_ch, 3, stride=stride, padding=1,
                               groups=in_ch, bias=False, norm_cfg=norm_cfg,
                               act_cfg=act_cfg),
                    ConvModule(in_ch, out_ch, 1, bias=False,
                               norm_cfg=norm_cfg, act_cfg=act_cfg)))
            in_ch = out_ch
        self.out_channels = in_ch

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(B, 3, H, W) -> tuple of the maps listed in ``out_indices``."""
        x = self.stem(x)
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        modules = [self.stem, *self.layers[:self.frozen_stages]]
        for m in modules:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True) -> 'MobileNetV1':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

# TaT (CVPR 2022), DeepLabV3 R-101-D8 -> DeepLabV3 R-18-D8 on Cityscapes:
# OUR EXTENSION (the paper distils DeepLabV3+ on VOC / COCOStuff10k only; there
# are no paper numbers), UNTUNED.
# Distilled, as TaT does on DeepLabV3+: the last feature before the
# classifier, taken before its ReLU, i.e. the BN output of the ASPP head's
# bottleneck (`decode_head.bottleneck.bn`, stride 8: 64 x 128 at the 512 x
# 1024 crop; student 128, teacher 512 channels). The decode heads' ReLUs are
# not in place so that the recorded map stays the pre-ReLU one.
# Patch-group + anchor-point TaT on that map (TaTSegLoss, 1x1 conv + BN
# embeddings 128 -> 512, per-sample BN statistics):
# - n, m = 8, 16 patch counts: 8 x 8 patches as TaT's VOC R-18 setting
#   (n = m = 16 on its 128 x 128 map); P = 128 patches, g = 32 groups, so a
#   group holds d = P * 512 / g = 2048 channels, as there (256 * 512 / 64);
# - a = 16, 32 anchor counts: 4 x 4 average pooling as there, 512 anchors.
# Weights: alpha = 1.6, beta = 1, gamma = 0.4. TaT's VOC R-18 recipe
# minimises CE / 16 + 0.1 (L^P + 0.4 L^A); with mmseg's CE of weight 1 the
# same balance is alpha = 0.1 * 16 = 1.6.
# The rest is mmseg's DeepLabV3 R-18 80k recipe (auxiliary head 0.4, SGD
# lr 0.01 poly, wd 5e-4, 4 GPUs x 2 crops); the TaT embeddings are trained
# with the student.
# Identical to the PSPNet config except the decode heads (ASPP instead of
# PSP) and the teacher checkpoint.
_base_ = ['./tat_decoder_pspnet-r101-d8_pspnet-r18-d8_4xb2-80k_cityscapes.py']

# mmseg model zoo, DeepLabV3 R-101-D8 512x1024 80k Cityscapes:
# deeplabv3_r101-d8_512x1024_80k_cityscapes_20200606_113503-9e428899.pth
teacher_ckpt = 'path/to/deeplabv3_r101-d8_512x1024_80k_cityscapes_20200606_113503-9e428899.pth'  # noqa: E501

norm_cfg = dict(type='SyncBN', requires_grad=True)
# Not in place: the recorded BN output must stay the map before the ReLU.
act_cfg = dict(type='ReLU', inplace=False)


def _aspp_head(in_channels, channels):
    return dict(
        _delete_=True,
        type='ASPPHead',
        in_channels=in_channels,
        in_index=3,
        channels=channels,
        dilations=(1, 12, 24, 36),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))


model = dict(
    teacher_ckpt=teacher_ckpt,
    # mmseg's deeplabv3_r101-d8 / deeplabv3_r18-d8 4xb2-80k Cityscapes heads.
    teacher=dict(decode_head=_aspp_head(2048, 512)),
    architecture=dict(decode_head=_aspp_head(512, 128)))
del _aspp_head

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
_base_ = [
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py'
]

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

# mmseg model zoo, DeepLabV3 R-101-D8 512x1024 80k Cityscapes:
# deeplabv3_r101-d8_512x1024_80k_cityscapes_20200606_113503-9e428899.pth
teacher_ckpt = 'path/to/deeplabv3_r101-d8_512x1024_80k_cityscapes_20200606_113503-9e428899.pth'  # noqa: E501

crop_size = (512, 1024)
norm_cfg = dict(type='SyncBN', requires_grad=True)
# Not in place: the recorded BN output must stay the map before the ReLU.
act_cfg = dict(type='ReLU', inplace=False)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)

# mmseg's deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024 model.
teacher = dict(
    _scope_='mmseg',
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c',
        depth=101,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='ASPPHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        dilations=(1, 12, 24, 36),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=1024,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# mmseg's deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024 model (ImageNet
# ResNetV1c-18 initialisation, downloaded at the first run).
student = dict(
    _scope_='mmseg',
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='ASPPHead',
        in_channels=512,
        in_index=3,
        channels=128,
        dilations=(1, 12, 24, 36),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=256,
        in_index=2,
        channels=64,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

feat = 'decode_head.bottleneck.bn'
model = dict(
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    architecture=student,
    teacher=teacher,
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='CheckedDistiller',
        student_recorders=dict(feat=dict(type='ModuleOutputs', source=feat)),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source=feat)),
        distill_losses=dict(
            loss_tat=dict(
                type='TaTSegLoss',
                student_channels=128,
                teacher_channels=512,
                patch_counts=(8, 16),
                groups=32,
                anchor_counts=(16, 32),
                alpha=1.6,
                beta=1.0,
                gamma=0.4,
                per_sample_norm=True,
                feat_size=(64, 128))),
        loss_forward_mappings=dict(
            loss_tat=dict(
                s_feature=dict(from_student=True, recorder='feat'),
                t_feature=dict(from_student=False, recorder='feat')))))

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

# TaT (CVPR 2022), DeepLabV3+ R-101-D16 -> DeepLabV3+ R-18-D16 on
# COCOStuff10k, as the authors' TaT-seg `train_cocostuff10k_resnet18.sh`:
# B = 16, lr = 0.01, alpha = 0.6, beta = 1, gamma = 1, n = m = 32
# (4x4 patches on the 128x128 map), g = 512, a = 32 (4x4 average pooling).
# mmseg's COCOStuff10k has 171 classes (the authors trained 182-way).
# Distilled: the decoder's last separable conv + BN output, before its ReLU
# (stride 4), teacher and student; 1x1 conv + BN embeddings map 128 -> 512
# channels, with per-sample BN statistics as the authors' distiller.
# Output stride 16, crop 512, SGD Nesterov, cosine per iteration without
# warm-up, 100 epochs, decode head lr x10, one GPU, CE weight 1/B.
_base_ = [
    'mmseg::_base_/datasets/coco-stuff10k.py',
    'mmseg::_base_/default_runtime.py'
]

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

# A DeepLabV3+ R-101-D16-MG124 trained on COCOStuff10k with the teacher model
# below (mmseg has no DeepLabV3+ COCOStuff10k checkpoint; see README.md).
teacher_ckpt = 'path/to/deeplabv3plus_r101-d16-mg124_coco-stuff10k.pth'

batch_size = 16
base_lr = 0.01
num_classes = 171
crop_size = (512, 512)

norm_cfg = dict(type='BN', requires_grad=True)
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

teacher = dict(
    _scope_='mmseg',
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c',
        depth=101,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 2),
        strides=(1, 2, 2, 1),
        multi_grid=(1, 2, 4),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='DepthwiseSeparableASPPHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        dilations=(1, 6, 12, 18),
        c1_in_channels=256,
        c1_channels=48,
        dropout_ratio=0.1,
        num_classes=num_classes,
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
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# mmseg's DeepLabV3+ R-18 head (128 decoder channels), output stride 16, no
# auxiliary head (the authors have none). The backbone starts from
# torchvision's ImageNet ResNet-18 (downloaded by init_cfg at the first run).
student = dict(
    _scope_='mmseg',
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 2),
        strides=(1, 2, 2, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    decode_head=dict(
        type='DepthwiseSeparableASPPHead',
        in_channels=512,
        in_index=3,
        channels=128,
        dilations=(1, 6, 12, 18),
        c1_in_channels=64,
        c1_channels=12,
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg,
        align_corners=False,
        # The authors' CE is also divided by the batch size.
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0 / batch_size)),
    auxiliary_head=None,
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

feat = 'decode_head.sep_bottleneck.1.pointwise_conv.bn'
model = dict(
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    architecture=student,
    teacher=teacher,
    teacher_ckpt=teacher_ckpt,
    # The authors' teacher runs in train mode (BN batch statistics).
    teacher_norm_eval=False,
    distiller=dict(
        type='CheckedDistiller',
        student_recorders=dict(feat=dict(type='ModuleOutputs', source=feat)),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source=feat)),
        distill_losses=dict(
            loss_tat=dict(
                type='TaTSegLoss',
                student_channels=128,
                teacher_channels=512,
                patch_counts=32,
                groups=512,
                anchor_counts=32,
                alpha=0.6,
                beta=1.0,
                gamma=1.0,
                per_sample_norm=True,
                feat_size=(128, 128))),
        loss_forward_mappings=dict(
            loss_tat=dict(
                s_feature=dict(from_student=True, recorder='feat'),
                t_feature=dict(from_student=False, recorder='feat')))))

find_unused_parameters = True

train_dataloader = dict(
    batch_size=batch_size, sampler=dict(type='DefaultSampler', shuffle=True))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='SGD',
        lr=base_lr,
        momentum=0.9,
        nesterov=True,
        weight_decay=5e-4),
    # ASPP + decoder at 10x lr; backbone and TaT embeddings at lr.
    paramwise_cfg=dict(
        custom_keys={'architecture.decode_head': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=100,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=100,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=1)
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=True,
        interval=1,
        max_keep_ckpts=1,
        save_best='mIoU',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
log_processor = dict(by_epoch=True)

# TaT (CVPR 2022), DeepLabV3+ R-101-D16 -> DeepLabV3+ R-18-D16: the recipe of
# the authors' TaT-seg R-18 scripts without the dataset. Shared by
# ../tat_decoder_deeplabv3plus-r101-d16_deeplabv3plus-r18-d16_1xb16-100e_
# {voc12aug,coco-stuff10k}.py and, through the MobileNetV2 recipe next to this
# file, by the MobileNetV2 configs of both datasets.
# Distilled: the decoder's last separable conv + BN output, before its ReLU
# (stride 4), teacher and student; 1x1 conv + BN embeddings map 128 -> 512
# channels, with per-sample BN statistics as the authors' distiller.
# Output stride 16, crop 512, SGD Nesterov, cosine per iteration without
# warm-up, 100 epochs, decode head lr x10, one GPU, B = 16, CE weight 1/B.
# Left to the config that inherits this file together with mmseg's dataset
# config (the two cannot both define them): the classes (num_classes of the
# three heads), the teacher checkpoint, the lr, the TaT hyper-parameters
# (patch_counts, groups, anchor_counts, alpha, beta, gamma) and the train
# dataloader (batch_size, sampler).
_base_ = ['mmseg::_base_/default_runtime.py']

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

batch_size = 16

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
    # the crop_size of mmseg's VOC12 aug and COCOStuff10k configs
    size=(512, 512))

# DeepLabV3+ R-101-D16 with multi-grid (1, 2, 4), as the authors' teacher.
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
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# mmseg's DeepLabV3+ R-18 head (128 decoder channels), output stride 16, no
# auxiliary head (the authors have none). The backbone starts from
# torchvision's ImageNet ResNet-18 (downloaded by init_cfg at the first run).
# The rest of the model as the teacher's.
student = dict(
    teacher,
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
        teacher['decode_head'],
        in_channels=512,
        channels=128,
        c1_in_channels=64,
        c1_channels=12,
        # The authors' CE is also divided by the batch size.
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0 / batch_size)),
    auxiliary_head=None)

feat = 'decode_head.sep_bottleneck.1.pointwise_conv.bn'
model = dict(
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    architecture=student,
    teacher=teacher,
    # None: the algorithm uses the student's preprocessor. Without the key,
    # mmengine's Runner puts the top-level `data_preprocessor` helper here,
    # built in mmrazor's scope, where SegDataPreProcessor does not exist.
    data_preprocessor=None,
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
                per_sample_norm=True,
                feat_size=(128, 128))),
        loss_forward_mappings=dict(
            loss_tat=dict(
                s_feature=dict(from_student=True, recorder='feat'),
                t_feature=dict(from_student=False, recorder='feat')))))

find_unused_parameters = True

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='SGD', momentum=0.9, nesterov=True, weight_decay=5e-4),
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
val_cfg = dict(type='mmrazor.SingleTeacherDistillValLoop')
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

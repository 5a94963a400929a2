# Shared part (not a config of its own) of the segmentation grid of the
# method benchmark (tools/effectiveness_grid.py). Each method config inherits
# the real full-size PSPNet R101 -> R18 method config AND this file, and
# takes from here (variables prefixed bench_, so that the bases share no
# key):
# * the models: mmseg PSPNet (dilated ResNetV1c, output stride 8, auxiliary
#   FCN head) with 16 instead of 64 base channels, so every channel count is
#   the real one / 4: student ResNet-18 (layer4 128, PSP head 128 -> 32),
#   teacher ResNet-50 (layer4 512, PSP head 512 -> 128; the same bottleneck
#   layout as the real ResNet-101 teacher, fewer blocks); BN, not SyncBN;
# * the data: mmkd_ext.datasets.make_demo_seg (128 x 128 photo crops with
#   composited shapes, 4 classes, 255 on object borders), written by the
#   benchmark tool under its work dir; 16 x 16 feature maps;
# * the schedule shared by student-alone and every method: SGD lr 0.01
#   (batch 8), momentum 0.9, wd 5e-4, poly decay over bench_epochs (the
#   real configs' optimizer, epochs instead of 80k iterations).
# Students 24 epochs (30 before: the 27 student runs were 78 of the grid's
# 254 run-minutes, and the grid ran over its 2 h budget).
bench_epochs = 24
bench_teacher_epochs = 60
bench_data_root = 'data/benchmark/seg/'
bench_metainfo = dict(
    classes=('background', 'disc', 'square', 'triangle'),
    palette=[[0, 0, 0], [220, 20, 60], [0, 130, 0], [0, 0, 230]])
bench_num_classes = 4
bench_crop = (128, 128)
bench_norm = dict(type='BN', requires_grad=True)

# Merged into the real configs' PSPNet-R18 student (their own changes, e.g.
# TaT's non-inplace ReLU, are kept).
bench_student_override = dict(
    data_preprocessor=dict(size=bench_crop),
    pretrained=None,
    backbone=dict(
        depth=18, stem_channels=16, base_channels=16, norm_cfg=bench_norm),
    decode_head=dict(
        in_channels=128,
        channels=32,
        num_classes=bench_num_classes,
        norm_cfg=bench_norm),
    auxiliary_head=dict(
        in_channels=64,
        channels=16,
        num_classes=bench_num_classes,
        norm_cfg=bench_norm))
bench_student = dict(
    _scope_='mmseg',
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=bench_crop),
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        stem_channels=16,
        base_channels=16,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=bench_norm,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='PSPHead',
        in_channels=128,
        in_index=3,
        channels=32,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        num_classes=bench_num_classes,
        norm_cfg=bench_norm,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=64,
        in_index=2,
        channels=16,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=bench_num_classes,
        norm_cfg=bench_norm,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
bench_teacher = dict(
    bench_student,
    backbone=dict(bench_student['backbone'], depth=50),
    decode_head=dict(
        bench_student['decode_head'], in_channels=512, channels=128),
    auxiliary_head=dict(
        bench_student['auxiliary_head'], in_channels=256, channels=64))

bench_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
bench_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]


def _bench_dataset(split, pipeline):
    return dict(
        type='BaseSegDataset',
        data_root=bench_data_root,
        data_prefix=dict(
            img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'),
        ann_file=f'splits/{split}.txt',
        img_suffix='.png',
        seg_map_suffix='.png',
        reduce_zero_label=False,
        metainfo=bench_metainfo,
        pipeline=pipeline)


bench_train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=_bench_dataset('train', bench_train_pipeline))
bench_test_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=_bench_dataset('val', bench_test_pipeline))
del _bench_dataset
bench_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])

bench_optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    clip_grad=None)


def _bench_schedule(epochs):
    return (
        [
            dict(
                type='PolyLR',
                eta_min=1e-4,
                power=0.9,
                begin=0,
                end=epochs,
                by_epoch=True)
        ],
        dict(
            type='EpochBasedTrainLoop',
            max_epochs=epochs,
            val_interval=epochs),
        dict(
            logger=dict(
                type='LoggerHook', interval=10, log_metric_by_epoch=True),
            checkpoint=dict(
                type='CheckpointHook', by_epoch=True, interval=epochs)),
    )


bench_param_scheduler, bench_train_cfg, bench_default_hooks = (
    _bench_schedule(bench_epochs))
(bench_teacher_param_scheduler, bench_teacher_train_cfg,
 bench_teacher_default_hooks) = _bench_schedule(bench_teacher_epochs)
del _bench_schedule

# Shared part (not a config of its own) of the detection grid of the method
# benchmark (tools/effectiveness_grid.py): data and schedule of both families.
# Each method config inherits the real full-size method config, its family's
# tiny models (RetinaNet: the demo's configs/demo/_base_/retinanet_r18-
# tiny.py, teacher_model ResNet-18 layout width 32, student_model width 16,
# FPN P3-P7 with 64 channels instead of 256; Faster R-CNN:
# ./faster-rcnn-tiny.py) AND this file, and takes from here (variables
# prefixed bench_, so that the bases share no key):
# * the data: the demo set (mmkd_ext.datasets.make_demo_coco, 128 x 128
#   photo crops with composited shapes, 3 classes), written by the
#   benchmark tool under its work dir;
# * the demo's schedule (SGD lr 0.01, momentum 0.9, wd 1e-4, grad clip 35,
#   50-iteration warm-up, cosine) over bench_epochs, shared by student-alone
#   and every method.
bench_epochs = 24
# The teacher trains 3x longer: at 24 epochs the width-32 teacher was no
# better than the width-16 student (seed 0, RetinaNet: 0.085 against 0.090
# bbox mAP), and a teacher no better than its student can only be measured
# as a regulariser, not as a teacher.
bench_teacher_epochs = 72
# Faster R-CNN's RPN + RoI head cost 4x a RetinaNet step on CPU here (255 s
# against 60 s per student run): its family trains 12 / 48 epochs, which
# keeps the whole grid inside its 2 h budget (at 24 / 72 the grid took
# 2 h 25 min, 94 of its 254 run-minutes Faster R-CNN's).
bench_frcnn_epochs = 12
bench_frcnn_teacher_epochs = 48
bench_data_root = 'data/benchmark/det/'
bench_metainfo = dict(classes=('disc', 'square', 'triangle'))

bench_train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type='CocoDataset',
        data_root=bench_data_root,
        metainfo=bench_metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackDetInputs')
        ]))
bench_test_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CocoDataset',
        data_root=bench_data_root,
        metainfo=bench_metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline=[
            dict(type='LoadImageFromFile'),
            # sets the scale_factor of mmdet's box post-processing
            dict(type='Resize', scale=(128, 128), keep_ratio=True),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(
                type='PackDetInputs',
                meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                           'scale_factor'))
        ]))
bench_evaluator = dict(
    type='CocoMetric',
    ann_file=bench_data_root + 'annotations/instances_val.json',
    metric='bbox',
    format_only=False)
bench_optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))


def _bench_schedule(epochs):
    return (
        [
            dict(
                type='LinearLR',
                start_factor=0.1,
                by_epoch=False,
                begin=0,
                end=50),
            dict(
                type='CosineAnnealingLR',
                T_max=epochs,
                eta_min_ratio=0.05,
                by_epoch=True,
                begin=0,
                end=epochs)
        ],
        dict(
            type='EpochBasedTrainLoop',
            max_epochs=epochs,
            val_interval=epochs),
        dict(
            logger=dict(type='LoggerHook', interval=10),
            checkpoint=dict(
                type='CheckpointHook', interval=epochs, max_keep_ckpts=1)),
    )


bench_param_scheduler, bench_train_cfg, bench_default_hooks = (
    _bench_schedule(bench_epochs))
(bench_teacher_param_scheduler, bench_teacher_train_cfg,
 bench_teacher_default_hooks) = _bench_schedule(bench_teacher_epochs)
(bench_frcnn_param_scheduler, bench_frcnn_train_cfg,
 bench_frcnn_default_hooks) = _bench_schedule(bench_frcnn_epochs)
(bench_frcnn_teacher_param_scheduler, bench_frcnn_teacher_train_cfg,
 bench_frcnn_teacher_default_hooks) = _bench_schedule(
     bench_frcnn_teacher_epochs)
del _bench_schedule

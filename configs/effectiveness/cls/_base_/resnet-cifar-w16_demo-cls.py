# Shared part (not a config of its own) of the classification grid of the
# method benchmark (tools/effectiveness_grid.py). Each method config inherits
# the real full-size method config AND this file, and takes from here (the
# variables are prefixed bench_ so that the two bases share no key):
# * the models: teacher ResNet-34 and student ResNet-18, both in the CIFAR
#   layout (3x3 stem, no max-pool) with 16 base channels, so that layer4
#   has 128 channels for both (as 512 for both at full size: the real
#   configs' recorders and losses are wired without connectors) and is 4x4
#   on the 32x32 crops;
# * the data: the embedded set of mmkd_ext.datasets.make_demo_cls (crops of
#   the demo's composited objects, 9 (shape, texture) classes, ImageNet
#   layout), written by the grid tool under its work dir;
# * the schedule shared by student-alone and every method: SGD lr 0.05
#   (batch 64), momentum 0.9, wd 5e-4, cosine decay over bench_epochs.
# Each method keeps its own loss types, weights, recorders and connectors.
# 15 epochs (225 iterations) for the students, to fit the grid's time
# budget: 30 were planned, but the det and seg families took longer than
# estimated (the whole grid's measured time is in ../README.md).
bench_epochs = 15
bench_data_root = 'data/benchmark/cls/'
bench_metainfo = dict(classes=(
    'disc-brick', 'disc-grass', 'disc-gravel', 'square-brick', 'square-grass',
    'square-gravel', 'triangle-brick', 'triangle-grass', 'triangle-gravel'))
bench_num_classes = 9

bench_backbone = dict(
    type='ResNet_CIFAR',
    stem_channels=16,
    base_channels=16,
    num_stages=4,
    out_indices=(3, ),
    style='pytorch')
# Merged into the real configs' mmpretrain ResNet-18 classifier: their own
# CE weight (head.loss) is kept.
bench_student_override = dict(
    backbone=dict(bench_backbone, depth=18),
    head=dict(num_classes=bench_num_classes, in_channels=128, topk=(1, )),
    init_cfg=None)
bench_student = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    backbone=dict(bench_backbone, depth=18),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=bench_num_classes,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))
bench_teacher = dict(
    bench_student, backbone=dict(bench_backbone, depth=34))
bench_data_preprocessor = dict(num_classes=bench_num_classes)
# The same preprocessing, whole, for the teacher and the student alone (which
# have no distillation base to merge into).
bench_model_data_preprocessor = dict(
    type='ClsDataPreprocessor',
    num_classes=bench_num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

bench_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
bench_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]
bench_train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        type='ImageNet',
        data_root=bench_data_root,
        split='train',
        metainfo=bench_metainfo,
        pipeline=bench_train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
bench_test_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        type='ImageNet',
        data_root=bench_data_root,
        split='val',
        metainfo=bench_metainfo,
        pipeline=bench_test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
bench_evaluator = dict(type='Accuracy', topk=(1, ))

bench_optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
bench_param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        T_max=bench_epochs,
        begin=0,
        end=bench_epochs)
]
bench_train_cfg = dict(
    by_epoch=True, max_epochs=bench_epochs, val_interval=bench_epochs)
bench_default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(
        type='CheckpointHook',
        interval=bench_epochs,
        max_keep_ckpts=1,
        save_best=None))

# The teacher: trained once, longer.
bench_teacher_epochs = 60
bench_teacher_param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        T_max=bench_teacher_epochs,
        begin=0,
        end=bench_teacher_epochs)
]
bench_teacher_train_cfg = dict(
    by_epoch=True,
    max_epochs=bench_teacher_epochs,
    val_interval=bench_teacher_epochs)
bench_teacher_default_hooks = dict(
    bench_default_hooks,
    checkpoint=dict(bench_default_hooks['checkpoint'],
                    interval=bench_teacher_epochs))

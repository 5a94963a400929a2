# The embedded demo set (tools/demo.py generates it with
# mmkd_ext.datasets.make_demo_coco): 128x128 photos with three shape classes.
# Everything else comes from mmdet's COCO settings.
_base_ = ['mmdet::_base_/default_runtime.py']

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)
default_scope = 'mmdet'

dataset_type = 'CocoDataset'
data_root = 'data/demo/'
metainfo = dict(classes=('disc', 'square', 'triangle'))
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    # The images are 128x128 already; Resize sets the scale_factor that
    # mmdet's box post-processing (rescale=True) needs.
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val.json',
    metric='bbox',
    format_only=False,
    backend_args=backend_args)
test_evaluator = val_evaluator

max_epochs = 24
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=24)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min_ratio=0.05,
        by_epoch=True,
        begin=0,
        end=max_epochs)
]
optim_wrapper = dict(
    type='OptimWrapper',
    # lr 0.02 left the width-32 teacher's classifier untrained (loss_cls
    # stuck at ~1.0, no detections); 0.01 trains both widths.
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
# Each logged loss is the mean over the iterations since the previous log
# line (window = logger interval; mmdet's default window is 50): with 20
# iterations per epoch, tools/demo.py's per-epoch means of the logged values
# are the epochs' mean losses.
log_interval = 10
log_processor = dict(
    type='LogProcessor', window_size=log_interval, by_epoch=True)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=log_interval),
    checkpoint=dict(type='CheckpointHook', interval=8, max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0, deterministic=False)
# Checkpoints carry the random state of augmentation; workers are seeded per
# epoch: a resumed run equals the uninterrupted one (mmkd_ext.engine).
custom_hooks = [dict(type='RNGStateHook')]

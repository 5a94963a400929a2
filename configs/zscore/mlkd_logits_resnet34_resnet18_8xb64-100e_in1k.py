# MLKD (CVPR 2023), ResNet-34 -> ResNet-18 on ImageNet-1k, the authors'
# ImageNet setting (configs/imagenet/r34_r18/kd_ours.yaml of their code):
# temperatures (T0=1, 3, 5, 2, 6), KD weight 0.5 (it scales the class- and
# batch-level terms too), CE weight 0.5 on each of the two views, batch 512
# (8 GPUs x 64: the masks, medians and Gram matrices are per GPU, as in the
# original DataParallel runs), SGD lr 0.1 momentum 0.9 wd 1e-4, x0.1 at
# epochs 30/60/90, 100 epochs.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py'
]

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

# Each image gives a weak view (RandomResizedCrop + flip) and a strong view
# (independent RandomResizedCrop + flip + FixMatch RandAugment with 2 ops
# and Cutout); student and teacher run on both (MultiViewDistill).
weak_view = [
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
strong_view = [
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='FixMatchRandAugment', num_ops=2, cutout_max=0.5),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    # img -> [weak, strong]
    dict(
        type='MultiView',
        num_views=[1, 1],
        transforms=[weak_view, strong_view]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# torchvision ResNet34_Weights.IMAGENET1K_V1 (73.31 top-1) converted to
# mmpretrain keys, see configs/zscore/README.md
teacher_ckpt = 'path/to/resnet34_torchvision-in1k_mmpretrain.pth'

model = dict(
    _scope_='mmrazor',
    type='MultiViewDistill',
    num_views=2,
    data_preprocessor=dict(
        type='MultiViewClsDataPreprocessor',
        num_classes=1000,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    architecture=dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(
            type='ResNet',
            depth=18,
            num_stages=4,
            out_indices=(3, ),
            style='pytorch'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=1000,
            in_channels=512,
            # applied to each view: 0.5 * (CE(weak) + CE(strong))
            loss=dict(type='CrossEntropyLoss', loss_weight=0.5),
            topk=(1, 5))),
    teacher=dict(
        cfg_path='mmpretrain::resnet/resnet34_8xb32_in1k.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='CheckedDistiller',
        student_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(
            loss_mlkd=dict(
                type='MLKDLoss',
                temperatures=(1.0, 3.0, 5.0, 2.0, 6.0),
                loss_weight=0.5)),
        loss_forward_mappings=dict(
            loss_mlkd=dict(
                # record_idx 0: weak view, 1: strong view
                preds_S=dict(from_student=True, recorder='fc', record_idx=0),
                preds_T=dict(
                    from_student=False, recorder='fc', record_idx=0),
                preds_S_strong=dict(
                    from_student=True, recorder='fc', record_idx=1),
                preds_T_strong=dict(
                    from_student=False, recorder='fc', record_idx=1)))))

find_unused_parameters = True

optim_wrapper = dict(optimizer=dict(lr=0.1))
auto_scale_lr = dict(base_batch_size=512)

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

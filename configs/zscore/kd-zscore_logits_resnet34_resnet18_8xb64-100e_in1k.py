# KD + Z-score logit standardization (CVPR 2024), ResNet-34 -> ResNet-18 on
# ImageNet-1k, with the supplement's ImageNet settings: base temperature 2,
# KD weight 9, CE weight 0.1, batch 512 (8 GPUs x 64), SGD lr 0.2 momentum
# 0.9 wd 1e-4, x0.1 at epochs 30/60/90, 100 epochs.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py'
]

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

# torchvision ResNet34_Weights.IMAGENET1K_V1 (73.31 top-1) converted to
# mmpretrain keys, see configs/zscore/README.md
teacher_ckpt = 'path/to/resnet34_torchvision-in1k_mmpretrain.pth'

model = dict(
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
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
            loss=dict(type='CrossEntropyLoss', loss_weight=0.1),
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
            loss_kd=dict(
                type='LogitStandardization',
                loss=dict(type='KLDivergence', tau=2, loss_weight=9))),
        loss_forward_mappings=dict(
            loss_kd=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))))

find_unused_parameters = True

optim_wrapper = dict(optimizer=dict(lr=0.2))
auto_scale_lr = dict(base_batch_size=512)

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

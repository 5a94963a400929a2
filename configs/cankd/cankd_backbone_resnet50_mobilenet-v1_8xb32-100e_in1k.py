# CanKD (WACV 2026, supplement section 9), ResNet-50 -> MobileNetV1 on
# ImageNet-1k. One CanKD loss (dot-product affinity, mu = 5) on the last
# backbone stage (7x7 for 224x224 inputs); a student-side 1x1 conv connector
# (no norm, no activation) maps MobileNetV1's 1024 channels to ResNet-50's
# 2048 first. The supplement follows "the official schedule" for 100 epochs:
# mmpretrain's ResNet recipe, SGD lr 0.1 for 8 GPUs x 32 images, momentum
# 0.9, wd 1e-4, x0.1 at epochs 30/60/90.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py'
]

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

# mmpretrain model zoo, ResNet-50 8xb32 ImageNet-1k:
# resnet50_8xb32_in1k_20210831-ea4938fc.pth
teacher_ckpt = 'path/to/resnet50_8xb32_in1k_20210831-ea4938fc.pth'

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
        # mmkd_ext's MobileNetV1 (1024-channel last map)
        backbone=dict(type='MobileNetV1', out_indices=(12, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=1000,
            in_channels=1024,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5))),
    teacher=dict(
        cfg_path='mmpretrain::resnet/resnet50_8xb32_in1k.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='CheckedDistiller',
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='backbone.layers.12')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='backbone.layer4')),
        connectors=dict(
            loss_cankd_sfeat=dict(
                type='ConvModuleConnector',
                in_channel=1024,
                out_channel=2048,
                norm_cfg=None,
                act_cfg=None)),
        distill_losses=dict(
            loss_cankd=dict(
                type='CanKDLoss', in_channels=2048, loss_weight=5.0)),
        loss_forward_mappings=dict(
            loss_cankd=dict(
                s_feature=dict(
                    from_student=True,
                    recorder='feat',
                    connector='loss_cankd_sfeat'),
                t_feature=dict(from_student=False, recorder='feat')))))

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

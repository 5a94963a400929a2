# CanKD (WACV 2026, supplement section 9), ResNet-34 -> ResNet-18 on
# ImageNet-1k. One CanKD loss (dot-product affinity, mu = 5) on the last
# backbone stage (layer4, 512 channels, 7x7 for 224x224 inputs), with the
# student's cross-entropy. The supplement follows "the official schedule"
# for 100 epochs: mmpretrain's ResNet recipe, SGD lr 0.1 for 8 GPUs x 32
# images, momentum 0.9, wd 1e-4, x0.1 at epochs 30/60/90.
# The ResNet-50 -> MobileNetV1 config inherits this one.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py'
]

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

# mmpretrain model zoo, ResNet-34 8xb32 ImageNet-1k:
# resnet34_8xb32_in1k_20210831-f257d4e6.pth
teacher_ckpt = 'path/to/resnet34_8xb32_in1k_20210831-f257d4e6.pth'

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
        cfg_path='mmpretrain::resnet/resnet18_8xb32_in1k.py',
        pretrained=False),
    teacher=dict(
        cfg_path='mmpretrain::resnet/resnet34_8xb32_in1k.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='CheckedDistiller',
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='backbone.layer4')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='backbone.layer4')),
        distill_losses=dict(
            loss_cankd=dict(
                type='CanKDLoss', in_channels=512, loss_weight=5.0)),
        loss_forward_mappings=dict(
            loss_cankd=dict(
                s_feature=dict(from_student=True, recorder='feat'),
                t_feature=dict(from_student=False, recorder='feat')))))

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

# Shared base (not a config of its own): the ImageNet-1k pair ResNet-34 ->
# ResNet-18, declared once for every method's ImageNet configs (directly:
# configs/{cankd,tat,letkd}/*_resnet34_resnet18_*_in1k; through
# ./logits_resnet34_resnet18_8xb32-100e_in1k.py, the logit methods'; the
# ResNet-50 -> MobileNetV1 configs change teacher and student).
# It sets the student (mmpretrain's ResNet-18 classifier, CE weight 1), the
# teacher (ResNet-34, torchvision's weights converted to mmpretrain keys),
# mmpretrain's ResNet schedule (SGD lr 0.1 for 8 GPUs x 32 images, momentum
# 0.9, wd 1e-4, x0.1 at epochs 30/60/90, 100 epochs) and an empty
# CheckedDistiller; each config adds its recorders and losses.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py'
]

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

# torchvision ResNet34_Weights.IMAGENET1K_V1 (73.31 top-1) converted to
# mmpretrain keys, see configs/wttm/README.md
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
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5))),
    teacher=dict(
        cfg_path='mmpretrain::resnet/resnet34_8xb32_in1k.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(type='CheckedDistiller'))

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

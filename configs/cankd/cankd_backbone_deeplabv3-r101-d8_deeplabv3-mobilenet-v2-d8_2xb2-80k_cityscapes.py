# CanKD (WACV 2026), DeepLabV3 R-101-D8 -> DeepLabV3 MobileNetV2-D8 on Cityscapes.
# One CanKD loss (dot-product affinity, mu = 5) between the last backbone
# stages (layer7 -> layer4); a student-side 1x1 conv
# connector (no norm, no activation) maps 320 -> 2048 channels first.
# mmseg 80k schedule: SGD lr 0.01 poly, momentum 0.9, wd 5e-4, 512x1024
# crops, 2 images per GPU; the paper trains on 2 GPUs.
# Paper: student 73.84 mIoU -> CanKD 75.62 mIoU.
# Inherits the student (mmseg's config) and, from
# ./_base_/cankd_backbone_cityscapes.py (shared by the
# cankd_backbone_*_cityscapes configs), the CanKD distiller, custom_imports
# and find_unused_parameters; sets the teacher and the distiller's
# student side.
_base_ = [
    'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb2-80k_cityscapes-512x1024.py',
    './_base_/cankd_backbone_cityscapes.py'
]

# mmseg model zoo, DeepLabV3 R-101-D8 512x1024 80k Cityscapes:
# deeplabv3_r101-d8_512x1024_80k_cityscapes_20200606_113503-9e428899.pth
teacher_ckpt = 'path/to/deeplabv3_r101-d8_512x1024_80k_cityscapes_20200606_113503-9e428899.pth'

student = _base_.model

# The shared distiller with MobileNetV2's last stage on the student side
# (layer7, 320 channels into the connector).
cankd = _base_.cankd_distiller
cankd_distiller = dict(
    cankd,
    student_recorders=dict(
        feat=dict(type='ModuleOutputs', source='backbone.layer7')),
    connectors=dict(
        loss_cankd_sfeat=dict(
            cankd.connectors.loss_cankd_sfeat, in_channel=320)))

model = dict(
    _scope_='mmrazor',
    _delete_=True,
    type='SingleTeacherDistill',
    architecture=student,
    teacher=dict(
        cfg_path='mmseg::deeplabv3/deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt,
    distiller=cankd_distiller)

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

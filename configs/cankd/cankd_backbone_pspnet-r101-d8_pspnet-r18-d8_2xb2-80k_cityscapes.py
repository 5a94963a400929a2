# CanKD (WACV 2026), PSPNet R-101-D8 -> PSPNet R-18-D8 on Cityscapes.
# One CanKD loss (dot-product affinity, mu = 5) between the last backbone
# stages (layer4 -> layer4); a student-side 1x1 conv
# connector (no norm, no activation) maps 512 -> 2048 channels first.
# mmseg 80k schedule: SGD lr 0.01 poly, momentum 0.9, wd 5e-4, 512x1024
# crops, 2 images per GPU; the paper trains on 2 GPUs.
# Paper: student 74.87 mIoU -> CanKD 76.24 mIoU.
_base_ = ['mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py']

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

# mmseg model zoo, PSPNet R-101-D8 512x1024 80k Cityscapes:
# pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth
teacher_ckpt = 'path/to/pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth'

student = _base_.model

model = dict(
    _scope_='mmrazor',
    _delete_=True,
    type='SingleTeacherDistill',
    architecture=student,
    teacher=dict(
        cfg_path='mmseg::pspnet/pspnet_r101-d8_4xb2-80k_cityscapes-512x1024.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='CheckedDistiller',
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='backbone.layer4')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='backbone.layer4')),
        connectors=dict(
            loss_cankd_sfeat=dict(
                type='ConvModuleConnector',
                in_channel=512,
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

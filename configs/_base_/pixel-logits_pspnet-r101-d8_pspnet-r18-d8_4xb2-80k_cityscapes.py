# Shared base (not a config of its own) of the per-pixel logit configs
# PSPNet R-101-D8 -> PSPNet R-18-D8 on Cityscapes: configs/wttm/{ttm,wttm}_
# logits_pspnet-*, configs/zscore/{kd,dkd}-zscore_logits_pspnet-* and
# configs/combined/cankd-wttm_backbone-logits_pspnet-*.
# It sets the student (mmseg's PSPNet R-18-D8, which keeps its CE losses:
# decode 1.0, auxiliary 0.4), the teacher, mmseg's 80k schedule (SGD lr 0.01
# poly, momentum 0.9, wd 5e-4, 512x1024 crops, 4 GPUs x 2 images) and the
# recorders of decode_head.conv_seg's logits (19 classes, 1/8 resolution) and
# of the label map; each config adds its loss (distill_losses and
# loss_forward_mappings).
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
            logits=dict(type='ModuleOutputs', source='decode_head.conv_seg'),
            # inputs of the decode head's CE: (logits, label map (B, H, W))
            gt_seg=dict(
                type='ModuleInputs', source='decode_head.loss_decode')),
        teacher_recorders=dict(
            logits=dict(type='ModuleOutputs', source='decode_head.conv_seg'))))

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

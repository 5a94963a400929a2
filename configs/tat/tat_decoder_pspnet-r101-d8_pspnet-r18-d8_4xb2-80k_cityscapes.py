# TaT (CVPR 2022), PSPNet R-101-D8 -> PSPNet R-18-D8 on Cityscapes: OUR
# EXTENSION (the paper distils DeepLabV3+ on VOC / COCOStuff10k only; there
# are no paper numbers), UNTUNED.
# Distilled, as TaT does on DeepLabV3+: the last feature before the
# classifier, taken before its ReLU, i.e. the BN output of the PSP head's
# bottleneck (`decode_head.bottleneck.bn`, stride 8: 64 x 128 at the 512 x
# 1024 crop; student 128, teacher 512 channels). The decode heads' ReLUs are
# not in place so that the recorded map stays the pre-ReLU one.
# Patch-group + anchor-point TaT on that map (TaTSegLoss, 1x1 conv + BN
# embeddings 128 -> 512, per-sample BN statistics):
# - n, m = 8, 16 patch counts: 8 x 8 patches as TaT's VOC R-18 setting
#   (n = m = 16 on its 128 x 128 map); P = 128 patches, g = 32 groups, so a
#   group holds d = P * 512 / g = 2048 channels, as there (256 * 512 / 64);
# - a = 16, 32 anchor counts: 4 x 4 average pooling as there, 512 anchors.
# Weights: alpha = 1.6, beta = 1, gamma = 0.4. TaT's VOC R-18 recipe
# minimises CE / 16 + 0.1 (L^P + 0.4 L^A); with mmseg's CE of weight 1 the
# same balance is alpha = 0.1 * 16 = 1.6.
# The rest is mmseg's PSPNet R-18 80k recipe (auxiliary head 0.4, SGD lr
# 0.01 poly, wd 5e-4, 4 GPUs x 2 crops); the TaT embeddings are trained
# with the student.
# Inherits mmseg's pspnet_r18-d8_4xb2-80k_cityscapes-512x1024 config whole:
# data, schedule and runtime, and its model as the student. Adds the teacher
# (the same model at R-101 widths), the TaT distiller and the distillation
# val loop.
_base_ = ['mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py']

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

# mmseg model zoo, PSPNet R-101-D8 512x1024 80k Cityscapes:
# pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth
teacher_ckpt = 'path/to/pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth'  # noqa: E501

# Not in place: the recorded BN output must stay the map before the ReLU.
act_cfg = dict(type='ReLU', inplace=False)

# mmseg's pspnet_r18-d8_4xb2-80k_cityscapes-512x1024 model (ImageNet
# ResNetV1c-18 initialisation, downloaded at the first run), with the decode
# head's ReLUs not in place.
student = dict(
    _base_.model,
    decode_head=dict(_base_.model.decode_head, act_cfg=act_cfg))

# mmseg's pspnet_r101-d8_4xb2-80k_cityscapes-512x1024 model: the student's
# at R-101 depth and head widths, without the ImageNet initialisation
# (teacher_ckpt holds its weights).
teacher = dict(
    student,
    backbone=dict(student['backbone'], depth=101),
    decode_head=dict(student['decode_head'], in_channels=2048, channels=512),
    auxiliary_head=dict(
        student['auxiliary_head'], in_channels=1024, channels=256))
del teacher['pretrained']

feat = 'decode_head.bottleneck.bn'
model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    architecture=student,
    teacher=teacher,
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='CheckedDistiller',
        student_recorders=dict(feat=dict(type='ModuleOutputs', source=feat)),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source=feat)),
        distill_losses=dict(
            loss_tat=dict(
                type='TaTSegLoss',
                student_channels=128,
                teacher_channels=512,
                patch_counts=(8, 16),
                groups=32,
                anchor_counts=(16, 32),
                alpha=1.6,
                beta=1.0,
                gamma=0.4,
                per_sample_norm=True,
                feat_size=(64, 128))),
        loss_forward_mappings=dict(
            loss_tat=dict(
                s_feature=dict(from_student=True, recorder='feat'),
                t_feature=dict(from_student=False, recorder='feat')))))

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

# TaT (CVPR 2022), RetinaNet R-101 -> RetinaNet R-50 on COCO: OUR EXTENSION
# (the paper has no detection experiment; there are no paper numbers),
# UNTUNED. One TaT loss per FPN output (teacher and student: 256 channels),
# the teacher running backbone + neck only (FpnTeacherDistill). Map sizes at
# 1333 x 800 (padded to 1344 x 800): P3 100 x 168, P4 50 x 84, P5 25 x 42,
# P6 13 x 21, P7 7 x 11.
# - P5-P7: one-to-all TaT (TaTLoss, G = 1): at most 25 * 42 = 1050
#   positions, so the full attention is affordable.
# - P3, P4: patch-group + anchor-point TaT (TaTSegLoss, one embedding per
#   level) with patches of about 6 x 10 positions on both levels:
#   P3: n = m = 16 patch counts (P = 256 patches), g = 64 groups;
#   P4: n = m = 8 (P = 64), g = 16; so a group holds d = P * 256 / g = 1024
#   channels on both. Anchor counts a = n (P3 16, P4 8): the pooling
#   window is the patch, so L^P relates the positions inside a patch and L^A
#   the patches (256 and 64 anchors) to each other.
#   Counts, not sizes, are fixed: portrait images get transposed patches,
#   and the losses need P3 >= 16 and P4 >= 8, i.e. a padded batch at least
#   128 pixels high and wide, and more than one P7 position for the
#   per-sample BN statistics, i.e. more than 128 pixels in one direction
#   (mmdet's keep-ratio resize to 1333 x 800 gives both up to an aspect
#   ratio of about 1:13).
# - 1x1 conv + BN embeddings, per-sample BN statistics (as TaT's
#   segmentation distiller), theta embeds the teacher map; the targets are
#   the raw teacher FPN maps.
# - Weight 1 for every level (one-to-all w = 1; alpha = beta = gamma = 1).
# mmdet's RetinaNet R-50 2x recipe otherwise (SGD lr 0.01 for 8 GPUs x 2
# images, momentum 0.9, wd 1e-4, 24 epochs, x0.1 at 16 and 22).
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_2x_coco.py']

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

# mmdet model zoo, RetinaNet R-101-FPN 2x:
# retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth
teacher_ckpt = 'path/to/retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth'

student = _base_.model

model = dict(
    _scope_='mmrazor',
    _delete_=True,
    type='FpnTeacherDistill',
    architecture=student,
    teacher=dict(
        cfg_path='mmdet::retinanet/retinanet_r101_fpn_2x_coco.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='CheckedDistiller',
        student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        distill_losses=dict(
            loss_tat_p3=dict(
                type='TaTSegLoss',
                student_channels=256,
                teacher_channels=256,
                patch_counts=16,
                groups=64,
                anchor_counts=16,
                alpha=1.0,
                beta=1.0,
                gamma=1.0,
                per_sample_norm=True,
                log_prefix='distill.tat_p3_'),
            loss_tat_p4=dict(
                type='TaTSegLoss',
                student_channels=256,
                teacher_channels=256,
                patch_counts=8,
                groups=16,
                anchor_counts=8,
                alpha=1.0,
                beta=1.0,
                gamma=1.0,
                per_sample_norm=True,
                log_prefix='distill.tat_p4_'),
            loss_tat_p5=dict(
                type='TaTLoss',
                student_channels=256,
                teacher_channels=256,
                per_sample_norm=True,
                loss_weight=1.0),
            loss_tat_p6=dict(
                type='TaTLoss',
                student_channels=256,
                teacher_channels=256,
                per_sample_norm=True,
                loss_weight=1.0),
            loss_tat_p7=dict(
                type='TaTLoss',
                student_channels=256,
                teacher_channels=256,
                per_sample_norm=True,
                loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_tat_p3=dict(
                s_feature=dict(from_student=True, recorder='fpn', data_idx=0),
                t_feature=dict(from_student=False, recorder='fpn',
                               data_idx=0)),
            loss_tat_p4=dict(
                s_feature=dict(from_student=True, recorder='fpn', data_idx=1),
                t_feature=dict(from_student=False, recorder='fpn',
                               data_idx=1)),
            loss_tat_p5=dict(
                s_feature=dict(from_student=True, recorder='fpn', data_idx=2),
                t_feature=dict(from_student=False, recorder='fpn',
                               data_idx=2)),
            loss_tat_p6=dict(
                s_feature=dict(from_student=True, recorder='fpn', data_idx=3),
                t_feature=dict(from_student=False, recorder='fpn',
                               data_idx=3)),
            loss_tat_p7=dict(
                s_feature=dict(from_student=True, recorder='fpn', data_idx=4),
                t_feature=dict(from_student=False, recorder='fpn',
                               data_idx=4)))))

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

# CanKD (WACV 2026), RepPoints (moment) X-101-DCN -> RepPoints R-50,
# both with GN in neck and head, on COCO.
# One CanKD loss (dot-product affinity, mu = 5) on each of the first four FPN
# outputs (P3-P6); the teacher runs backbone + neck only (FpnTeacherDistill).
# The authors' recipe: SGD lr 0.005 for 2 GPUs x 2 images, momentum 0.9,
# wd 1e-4, grad clip 35, 2x schedule (24 epochs, x0.1 at 16 and 22).
# Paper: student 38.6 AP -> CanKD 42.4 AP.
# Inherits the student (mmdet's config) and, from ./_base_/cankd_fpn_coco.py
# (shared by the three cankd_fpn_* configs), the CanKD distiller,
# custom_imports and find_unused_parameters; sets the teacher and the
# authors' recipe.
_base_ = [
    'mmdet::reppoints/reppoints-moment_r50_fpn-gn_head-gn_2x_coco.py',
    './_base_/cankd_fpn_coco.py'
]

# mmdet model zoo, RepPoints moment X-101-FPN-DCN GN-neck+head 2x:
# reppoints_moment_x101_fpn_dconv_c3-c5_gn-neck+head_2x_coco_20200329-f87da1ea.pth
teacher_ckpt = 'path/to/reppoints_moment_x101_fpn_dconv_c3-c5_gn-neck+head_2x_coco_20200329-f87da1ea.pth'

student = _base_.model

model = dict(
    _scope_='mmrazor',
    _delete_=True,
    type='FpnTeacherDistill',
    architecture=student,
    teacher=dict(
        cfg_path='mmdet::reppoints/'
        'reppoints-moment_x101-dconv-c3-c5_fpn-gn_head-gn_2x_coco.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt,
    distiller=_base_.cankd_distiller)

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))

# 2 GPUs x 2 images per GPU.
auto_scale_lr = dict(enable=False, base_batch_size=4)

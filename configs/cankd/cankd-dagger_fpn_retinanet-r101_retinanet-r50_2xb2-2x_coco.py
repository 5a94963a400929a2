# CanKD-dagger (WACV 2026), RetinaNet R-101 -> RetinaNet R-50 on COCO.
# Same as the plain config, but the student's neck and head start from the
# teacher checkpoint (the backbone from ImageNet weights, as in the plain
# config). Paper: student 37.4 AP -> CanKD-dagger 39.8 AP.
# Inherits everything from the plain config; sets only the init_cfg of
# the student's neck and head (the plain config's teacher checkpoint).
_base_ = ['./cankd_fpn_retinanet-r101_retinanet-r50_2xb2-2x_coco.py']

model = dict(
    architecture=dict(
        neck=dict(
            init_cfg=dict(
                type='Pretrained',
                prefix='neck.',
                checkpoint=_base_.teacher_ckpt)),
        bbox_head=dict(
            init_cfg=dict(
                type='Pretrained',
                prefix='bbox_head.',
                checkpoint=_base_.teacher_ckpt))))

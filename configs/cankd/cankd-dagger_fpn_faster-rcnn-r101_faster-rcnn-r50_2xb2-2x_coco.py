# CanKD-dagger (WACV 2026), Faster R-CNN R-101 -> Faster R-CNN R-50 on COCO.
# Same as the plain config, but the student's neck and RoI box head start from
# the teacher checkpoint (the backbone from ImageNet weights, as in the plain
# config; the RPN head is not initialised from the teacher, as in the
# authors' config). Paper: student 38.4 AP -> CanKD-dagger 40.7 AP.
# Inherits everything from the plain config; sets only the init_cfg of
# the student's neck and head (the plain config's teacher checkpoint).
_base_ = ['./cankd_fpn_faster-rcnn-r101_faster-rcnn-r50_2xb2-2x_coco.py']

model = dict(
    architecture=dict(
        neck=dict(
            init_cfg=dict(
                type='Pretrained',
                prefix='neck.',
                checkpoint=_base_.teacher_ckpt)),
        roi_head=dict(
            bbox_head=dict(
                init_cfg=dict(
                    type='Pretrained',
                    prefix='roi_head.bbox_head.',
                    checkpoint=_base_.teacher_ckpt)))))

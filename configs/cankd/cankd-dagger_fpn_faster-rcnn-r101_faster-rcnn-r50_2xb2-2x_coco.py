# CanKD-dagger (WACV 2026), Faster R-CNN R-101 -> Faster R-CNN R-50 on COCO.
# Same as the plain config, but the student's neck and RoI box head start from
# the teacher checkpoint (the backbone from ImageNet weights, as in the plain
# config; the RPN head is not initialised from the teacher, as in the
# authors' config). Paper: student 38.4 AP -> CanKD-dagger 40.7 AP.
_base_ = ['./cankd_fpn_faster-rcnn-r101_faster-rcnn-r50_2xb2-2x_coco.py']

# mmdet model zoo, Faster R-CNN R-101-FPN 2x:
# faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_20200504_210455-1d2dac9c.pth
teacher_ckpt = 'path/to/faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_20200504_210455-1d2dac9c.pth'

model = dict(
    architecture=dict(
        neck=dict(
            init_cfg=dict(
                type='Pretrained', prefix='neck.', checkpoint=teacher_ckpt)),
        roi_head=dict(
            bbox_head=dict(
                init_cfg=dict(
                    type='Pretrained',
                    prefix='roi_head.bbox_head.',
                    checkpoint=teacher_ckpt)))),
    teacher_ckpt=teacher_ckpt)

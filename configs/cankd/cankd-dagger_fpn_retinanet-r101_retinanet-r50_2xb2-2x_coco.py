# CanKD-dagger (WACV 2026), RetinaNet R-101 -> RetinaNet R-50 on COCO.
# Same as the plain config, but the student's neck and head start from the
# teacher checkpoint (the backbone from ImageNet weights, as in the plain
# config). Paper: student 37.4 AP -> CanKD-dagger 39.8 AP.
_base_ = ['./cankd_fpn_retinanet-r101_retinanet-r50_2xb2-2x_coco.py']

# mmdet model zoo, RetinaNet R-101-FPN 2x:
# retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth
teacher_ckpt = 'path/to/retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth'

model = dict(
    architecture=dict(
        neck=dict(
            init_cfg=dict(
                type='Pretrained', prefix='neck.', checkpoint=teacher_ckpt)),
        bbox_head=dict(
            init_cfg=dict(
                type='Pretrained',
                prefix='bbox_head.',
                checkpoint=teacher_ckpt))),
    teacher_ckpt=teacher_ckpt)

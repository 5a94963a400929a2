# CanKD-dagger (WACV 2026), RepPoints X-101-DCN -> RepPoints R-50 on COCO.
# Same as the plain config, but the student's neck and head start from the
# teacher checkpoint (the backbone from ImageNet weights, as in the plain
# config). Paper: student 38.6 AP -> CanKD-dagger 42.6 AP.
_base_ = ['./cankd_fpn_reppoints-x101-dconv_reppoints-r50_2xb2-2x_coco.py']

# mmdet model zoo, RepPoints moment X-101-FPN-DCN GN-neck+head 2x:
# reppoints_moment_x101_fpn_dconv_c3-c5_gn-neck+head_2x_coco_20200329-f87da1ea.pth
teacher_ckpt = 'path/to/reppoints_moment_x101_fpn_dconv_c3-c5_gn-neck+head_2x_coco_20200329-f87da1ea.pth'

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

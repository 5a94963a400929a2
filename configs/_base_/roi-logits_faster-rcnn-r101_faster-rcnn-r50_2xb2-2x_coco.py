# Shared base (not a config of its own) of the RoI classification logit
# configs Faster R-CNN R-101 -> Faster R-CNN R-50 on COCO:
# configs/wttm/wttm_roi-logits_faster-rcnn-*, configs/zscore/{dkd,dkd-zscore}_
# roi-logits_faster-rcnn-* and configs/combined/cankd-dkd-zscore_fpn-roi_
# faster-rcnn-*.
# It sets the student (mmdet's Faster R-CNN R-50-FPN, which keeps its own
# losses), the teacher (RoITeacherDistill: the teacher's backbone + neck run
# on the images and its RoI head's bbox branch on exactly the RoIs the
# student sampled, so the (512 x images, 81) logits are matched RoI by RoI),
# the recorders of those logits (roi_head.bbox_head.fc_cls) and the CanKD
# Faster R-CNN recipe (SGD lr 0.005 for 2 GPUs x 2 images, momentum 0.9,
# wd 1e-4, grad clip 35, 2x: 24 epochs, x0.1 at 16 and 22); each config adds
# its loss (distill_losses and loss_forward_mappings).
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py']

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

# mmdet model zoo, Faster R-CNN R-101-FPN 2x:
# faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_20200504_210455-1d2dac9c.pth
teacher_ckpt = 'path/to/faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_20200504_210455-1d2dac9c.pth'

student = _base_.model

model = dict(
    _scope_='mmrazor',
    _delete_=True,
    type='RoITeacherDistill',
    architecture=student,
    teacher=dict(
        cfg_path='mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='CheckedDistiller',
        student_recorders=dict(
            roi_cls=dict(
                type='ModuleOutputs', source='roi_head.bbox_head.fc_cls')),
        teacher_recorders=dict(
            roi_cls=dict(
                type='ModuleOutputs', source='roi_head.bbox_head.fc_cls'))))

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))

# 2 GPUs x 2 images per GPU.
auto_scale_lr = dict(enable=False, base_batch_size=4)

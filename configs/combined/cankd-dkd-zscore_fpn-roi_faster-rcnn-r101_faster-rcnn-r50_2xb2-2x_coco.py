# Combined losses in one distiller, Faster R-CNN R-101 -> Faster R-CNN R-50 on
# COCO: CanKD (WACV 2026) on the FPN outputs P2-P5 + DKD with Z-score logit
# standardization (CVPR 2024) on the RoI classification logits. An example of
# composition, UNTUNED as a combination: no paper reports it.
# - CanKD: the paper's Faster R-CNN setting (dot-product affinity, mu = 5 on
#   each of P2-P5), as configs/cankd/cankd_fpn_faster-rcnn-r101_...
# - DKD + Z-score: DKD's detection setting (alpha 1, beta 0.25, T 1), as
#   configs/zscore/dkd-zscore_roi-logits_faster-rcnn-r101_...; the teacher
#   scores the student's sampled RoIs (RoITeacherDistill), background column
#   included.
# Each term is logged under its own key (distill.loss_cankd_fpn0..3,
# distill.loss_dkd).
# Schedule: the CanKD Faster R-CNN recipe (SGD lr 0.005 for 2 GPUs x 2 images,
# momentum 0.9, wd 1e-4, grad clip 35, 2x: 24 epochs, x0.1 at 16 and 22).
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
            fpn=dict(type='ModuleOutputs', source='neck'),
            roi_cls=dict(
                type='ModuleOutputs', source='roi_head.bbox_head.fc_cls'),
            # inputs of the RoI head's CE: (cls_score, labels, weights);
            # labels (R, ), background = 80
            roi_labels=dict(
                type='ModuleInputs', source='roi_head.bbox_head.loss_cls')),
        teacher_recorders=dict(
            fpn=dict(type='ModuleOutputs', source='neck'),
            roi_cls=dict(
                type='ModuleOutputs', source='roi_head.bbox_head.fc_cls')),
        distill_losses=dict(
            loss_cankd_fpn0=dict(
                type='CanKDLoss', in_channels=256, loss_weight=5.0),
            loss_cankd_fpn1=dict(
                type='CanKDLoss', in_channels=256, loss_weight=5.0),
            loss_cankd_fpn2=dict(
                type='CanKDLoss', in_channels=256, loss_weight=5.0),
            loss_cankd_fpn3=dict(
                type='CanKDLoss', in_channels=256, loss_weight=5.0),
            loss_dkd=dict(
                type='LogitStandardization',
                loss=dict(
                    type='DKDLoss',
                    tau=1,
                    alpha=1.0,
                    beta=0.25,
                    reduction='batchmean',
                    loss_weight=1.0))),
        loss_forward_mappings=dict(
            loss_cankd_fpn0=dict(
                s_feature=dict(from_student=True, recorder='fpn', data_idx=0),
                t_feature=dict(from_student=False, recorder='fpn',
                               data_idx=0)),
            loss_cankd_fpn1=dict(
                s_feature=dict(from_student=True, recorder='fpn', data_idx=1),
                t_feature=dict(from_student=False, recorder='fpn',
                               data_idx=1)),
            loss_cankd_fpn2=dict(
                s_feature=dict(from_student=True, recorder='fpn', data_idx=2),
                t_feature=dict(from_student=False, recorder='fpn',
                               data_idx=2)),
            loss_cankd_fpn3=dict(
                s_feature=dict(from_student=True, recorder='fpn', data_idx=3),
                t_feature=dict(from_student=False, recorder='fpn',
                               data_idx=3)),
            loss_dkd=dict(
                preds_S=dict(from_student=True, recorder='roi_cls'),
                preds_T=dict(from_student=False, recorder='roi_cls'),
                gt_labels=dict(
                    from_student=True, recorder='roi_labels', data_idx=1)))))

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))

# 2 GPUs x 2 images per GPU.
auto_scale_lr = dict(enable=False, base_batch_size=4)

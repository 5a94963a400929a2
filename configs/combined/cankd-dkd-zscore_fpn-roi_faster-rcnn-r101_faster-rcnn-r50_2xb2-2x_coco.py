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
_base_ = [
    '../_base_/roi-logits_faster-rcnn-r101_faster-rcnn-r50_2xb2-2x_coco.py'
]

# The base (shared with the WTTM / DKD RoI configs) sets the teacher, the
# student, the schedule and the RoI logit recorders; this config adds the FPN
# and RoI labels recorders and both losses.
model = dict(
    distiller=dict(
        student_recorders=dict(
            fpn=dict(type='ModuleOutputs', source='neck'),
            # inputs of the RoI head's CE: (cls_score, labels, weights);
            # labels (R, ), background = 80
            roi_labels=dict(
                type='ModuleInputs', source='roi_head.bbox_head.loss_cls')),
        teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
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

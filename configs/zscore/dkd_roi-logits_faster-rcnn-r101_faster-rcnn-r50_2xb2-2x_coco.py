# DKD (CVPR 2022) on the RoI classification logits,
# Faster R-CNN R-101 -> Faster R-CNN R-50 on COCO. An extension of this
# repository: there are no paper numbers for this mmdet pair.
# The teacher scores the student's sampled RoIs (RoITeacherDistill): its
# backbone + neck run on the images and its RoI head's bbox branch on exactly
# the RoIs the student sampled, so the (512 x images, 81) logits are matched
# RoI by RoI. The 81st column (background) is kept.
# Weights: DKD's own detection setting (mdistiller's detectron2 code:
# alpha 1, beta 0.25, T 1, weight 1), UNTUNED for this mmdet pair.
# Schedule: the CanKD Faster R-CNN recipe (SGD lr 0.005 for 2 GPUs x 2 images,
# momentum 0.9, wd 1e-4, grad clip 35, 2x: 24 epochs, x0.1 at 16 and 22).
_base_ = [
    '../_base_/roi-logits_faster-rcnn-r101_faster-rcnn-r50_2xb2-2x_coco.py'
]

# The base sets the teacher, the student, the schedule and the RoI logit
# recorders; this config adds the RoI labels recorder and the DKD loss.
model = dict(
    distiller=dict(
        student_recorders=dict(
            # inputs of the RoI head's CE: (cls_score, labels, weights);
            # labels (R, ), background = 80
            roi_labels=dict(
                type='ModuleInputs', source='roi_head.bbox_head.loss_cls')),
        distill_losses=dict(
            loss_dkd=dict(
                type='DKDLoss',
                tau=1,
                alpha=1.0,
                beta=0.25,
                reduction='batchmean',
                loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_dkd=dict(
                preds_S=dict(from_student=True, recorder='roi_cls'),
                preds_T=dict(from_student=False, recorder='roi_cls'),
                gt_labels=dict(
                    from_student=True, recorder='roi_labels', data_idx=1)))))

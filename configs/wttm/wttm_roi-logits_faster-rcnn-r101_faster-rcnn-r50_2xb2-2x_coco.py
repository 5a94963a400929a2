# WTTM (ICLR 2024) on the RoI classification logits,
# Faster R-CNN R-101 -> Faster R-CNN R-50 on COCO. An extension of this
# repository: there are no paper numbers for this mmdet pair.
# The teacher scores the student's sampled RoIs (RoITeacherDistill): its
# backbone + neck run on the images and its RoI head's bbox branch on exactly
# the RoIs the student sampled, so the (512 x images, 81) logits are matched
# RoI by RoI. The 81st column (background) is kept.
# Weights UNTUNED: gamma 0.8 and beta 1.6 are the paper's ImageNet values for
# ResNet-34 -> ResNet-18 (Table 10); the paper has no detection experiment.
# Schedule: the CanKD Faster R-CNN recipe (SGD lr 0.005 for 2 GPUs x 2 images,
# momentum 0.9, wd 1e-4, grad clip 35, 2x: 24 epochs, x0.1 at 16 and 22).
_base_ = ['../_base_/roi-logits_faster-rcnn-r101_faster-rcnn-r50_2xb2-2x_coco.py']

# The base sets the teacher, the student, the schedule and the RoI logit
# recorders; this config adds the WTTM loss.
model = dict(
    distiller=dict(
        distill_losses=dict(
            loss_wttm=dict(type='WTTMLoss', gamma=0.8, loss_weight=1.6)),
        loss_forward_mappings=dict(
            loss_wttm=dict(
                preds_S=dict(from_student=True, recorder='roi_cls'),
                preds_T=dict(from_student=False, recorder='roi_cls')))))

# DKD + Z-score logit standardization (CVPR 2024) on the RoI classification
# logits, Faster R-CNN R-101 -> Faster R-CNN R-50 on COCO. An extension of
# this repository: there are no paper numbers for this mmdet pair.
# The teacher scores the student's sampled RoIs (RoITeacherDistill): its
# backbone + neck run on the images and its RoI head's bbox branch on exactly
# the RoIs the student sampled, so the (512 x images, 81) logits are matched
# RoI by RoI. The 81st column (background) is kept.
# Weights: the supplement's COCO experiment follows DKD's detection setting
# (alpha 1, beta 0.25, T 1, weight 1), kept here with the Z-score wrapper;
# UNTUNED for this mmdet pair.
# Schedule: the CanKD Faster R-CNN recipe (SGD lr 0.005 for 2 GPUs x 2 images,
# momentum 0.9, wd 1e-4, grad clip 35, 2x: 24 epochs, x0.1 at 16 and 22).
_base_ = ['./dkd_roi-logits_faster-rcnn-r101_faster-rcnn-r50_2xb2-2x_coco.py']

# Everything as the DKD config; only the loss changes: the same DKD loss
# wrapped in the Z-score standardization.
model = dict(
    distiller=dict(
        distill_losses=dict(
            loss_dkd=dict(
                _delete_=True,
                type='LogitStandardization',
                loss=dict(
                    type='DKDLoss',
                    tau=1,
                    alpha=1.0,
                    beta=0.25,
                    reduction='batchmean',
                    loss_weight=1.0)))))

# TTM (ICLR 2024) on per-pixel logits,
# DeepLabV3 R-101-D8 -> DeepLabV3 R-18-D8 on Cityscapes.
# An extension of this repository, not a setting of the paper: there are no
# paper numbers for this pair.
# Every pixel of decode_head.conv_seg's logits (19 classes, 1/8 resolution) is
# one sample of the (N, K) logit loss (PixelWiseLogitLoss); pixels labelled
# 255 in the label map (resized to the logit resolution, nearest) are left out
# of the loss and of its average.
# Weights are UNTUNED: the paper gives no ImageNet values for plain TTM;
# gamma 0.8 and beta 1.6 are its WTTM ImageNet values (Table 10).
# The student keeps mmseg's CE losses (decode 1.0, auxiliary 0.4).
# mmseg 80k schedule: SGD lr 0.01 poly, momentum 0.9, wd 5e-4, 512x1024 crops,
# 4 GPUs x 2 images.
_base_ = [
    '../_base_/pixel-logits_deeplabv3-r101-d8_deeplabv3-r18-d8_4xb2-80k_cityscapes.py'
]

# The base sets the teacher, the student, the schedule and the logit / label
# recorders; this config adds the TTM loss.
model = dict(
    distiller=dict(
        distill_losses=dict(
            loss_ttm=dict(
                type='PixelWiseLogitLoss',
                ignore_index=255,
                loss=dict(type='TTMLoss', gamma=0.8, loss_weight=1.6))),
        loss_forward_mappings=dict(
            loss_ttm=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits'),
                gt_labels=dict(
                    from_student=True, recorder='gt_seg', data_idx=1)))))

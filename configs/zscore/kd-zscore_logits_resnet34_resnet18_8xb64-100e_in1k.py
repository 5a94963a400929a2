# KD + Z-score logit standardization (CVPR 2024), ResNet-34 -> ResNet-18 on
# ImageNet-1k, with the supplement's ImageNet settings: base temperature 2,
# KD weight 9, CE weight 0.1, batch 512 (8 GPUs x 64), SGD lr 0.2 momentum
# 0.9 wd 1e-4, x0.1 at epochs 30/60/90, 100 epochs.
_base_ = ['../_base_/logits_resnet34_resnet18_8xb64-100e_in1k.py']

# The base sets the teacher, the student, the schedule and the fc logit
# recorders; this config sets the CE weight and adds the KD + Z-score loss.
model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=0.1))),
    distiller=dict(
        distill_losses=dict(
            loss_kd=dict(
                type='LogitStandardization',
                loss=dict(type='KLDivergence', tau=2, loss_weight=9))),
        loss_forward_mappings=dict(
            loss_kd=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))))

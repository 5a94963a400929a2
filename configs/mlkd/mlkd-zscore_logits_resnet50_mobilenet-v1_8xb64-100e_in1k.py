# MLKD + Z-score logit standardization (CVPR 2024), ResNet-50 -> MobileNetV1
# on ImageNet-1k, with the supplement's ImageNet settings: base temperature 2
# (temperatures 2, 3, 5, 2, 6), KD weight 9 (it scales the class- and
# batch-level terms too), CE weight 0.5, batch 512, SGD lr 0.2 momentum 0.9
# wd 1e-4, x0.1 at epochs 30/60/90, 100 epochs. Z-score applies to the
# instance-level KD terms only.
_base_ = ['./mlkd_logits_resnet50_mobilenet-v1_8xb64-100e_in1k.py']

model = dict(
    distiller=dict(
        distill_losses=dict(
            loss_mlkd=dict(
                temperatures=(2.0, 3.0, 5.0, 2.0, 6.0),
                loss_weight=9.0,
                logit_stand=True))))

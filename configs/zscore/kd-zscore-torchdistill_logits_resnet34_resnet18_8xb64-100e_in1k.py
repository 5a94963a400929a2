# KD + Z-score logit standardization (CVPR 2024), ResNet-34 -> ResNet-18 on
# ImageNet-1k: the torchdistill reproduction of KD+Z (71.23 top-1), which
# differs from the supplement's settings only in the CE weight (0.5 instead
# of 0.1): base temperature 2, KD weight 9, batch 512 (8 GPUs x 64), SGD lr
# 0.2 momentum 0.9 wd 1e-4, x0.1 at epochs 30/60/90, 100 epochs.
_base_ = ['./kd-zscore_logits_resnet34_resnet18_8xb64-100e_in1k.py']

# As the supplement's KD + Z config except the CE weight.
model = dict(architecture=dict(head=dict(loss=dict(loss_weight=0.5))))

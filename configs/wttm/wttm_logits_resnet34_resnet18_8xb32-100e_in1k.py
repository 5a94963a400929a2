# WTTM (ICLR 2024), ResNet-34 -> ResNet-18 on ImageNet-1k.
# gamma = 1/T = 0.8, beta = 1.6 (paper Table 10), CE weight 1.
# torchdistill's reference ImageNet recipe (the paper trains with
# torchdistill's standard settings): SGD momentum 0.9, wd 1e-4, lr 0.1 for
# a total batch of 256 (8 GPUs x 32), x0.1 at epochs 30/60/90, 100 epochs.
_base_ = ['../_base_/logits_resnet34_resnet18_8xb32-100e_in1k.py']

# The base sets the teacher, the student, the schedule and the fc logit
# recorders; this config adds the WTTM loss.
model = dict(
    distiller=dict(
        distill_losses=dict(
            loss_wttm=dict(type='WTTMLoss', gamma=0.8, loss_weight=1.6)),
        loss_forward_mappings=dict(
            loss_wttm=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))))

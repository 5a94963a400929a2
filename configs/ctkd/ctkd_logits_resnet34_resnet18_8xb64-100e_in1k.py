# CTKD (AAAI 2023), global learnable temperature, ResNet-34 -> ResNet-18 on
# ImageNet-1k. Loss settings of the authors' ImageNet script: KD weight 1,
# CE weight 1, tau = 1 + 20 * sigmoid(GRL(theta)), lambda cosine-scheduled
# over E = 5 epochs. Schedule: the common ImageNet setting of the Z-score
# comparison (batch 512 = 8 GPUs x 64, SGD lr 0.2 momentum 0.9 wd 1e-4, x0.1
# at epochs 30/60/90, 100 epochs), so that CTKD and CTKD+Z differ only in
# the loss. Note: the CTKD script itself trains 120 epochs at batch 256 with
# lr 0.1 (same steps); set train_cfg.max_epochs=120 and the batch/lr to
# reproduce it exactly.
_base_ = ['../_base_/logits_resnet34_resnet18_8xb64-100e_in1k.py']

# The base sets the teacher, the student (CE weight 1), the schedule and the
# fc logit recorders; this config adds the CTKD loss.
model = dict(
    distiller=dict(
        # theta is a parameter of this loss, hence of the distiller: it is
        # optimised by the student's SGD (same lr, momentum, weight decay).
        # The epoch for the lambda schedule is read from the MessageHub.
        distill_losses=dict(
            loss_ctkd=dict(
                type='CTKDLoss',
                loss_weight=1.0,
                temp_type='global',
                t_start=1.0,
                t_range=20.0,
                warmup_epochs=5)),
        loss_forward_mappings=dict(
            loss_ctkd=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))))

# DKD + Z-score logit standardization (CVPR 2024), ResNet-34 -> ResNet-18 on
# ImageNet-1k, with the supplement's ImageNet settings: base temperature 2,
# DKD weight 12, CE weight 0.5, batch 512 (8 GPUs x 64), SGD lr 0.2 momentum
# 0.9 wd 1e-4, x0.1 at epochs 30/60/90, 100 epochs.
_base_ = ['../_base_/logits_resnet34_resnet18_8xb64-100e_in1k.py']

# The base sets the teacher, the student, the schedule and the fc logit
# recorders; this config sets the CE weight and adds the labels recorder and
# the DKD + Z-score loss.
model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=0.5))),
    distiller=dict(
        student_recorders=dict(
            gt_labels=dict(type='ModuleInputs', source='head.loss_module')),
        distill_losses=dict(
            # mdistiller's ImageNet DKD: alpha 1, beta 0.5, warm-up 1 epoch
            # (factor 1 from the first epoch, so none is needed here); the
            # weight 12 scales both alpha and beta as in the authors' code.
            loss_dkd=dict(
                type='LogitStandardization',
                loss=dict(
                    type='DKDLoss',
                    tau=2,
                    alpha=1.0,
                    beta=0.5,
                    reduction='batchmean',
                    loss_weight=12))),
        loss_forward_mappings=dict(
            loss_dkd=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc'),
                gt_labels=dict(
                    from_student=True, recorder='gt_labels', data_idx=1)))))

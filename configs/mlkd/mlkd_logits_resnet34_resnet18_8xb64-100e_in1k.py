# MLKD (CVPR 2023), ResNet-34 -> ResNet-18 on ImageNet-1k, the authors'
# ImageNet setting (configs/imagenet/r34_r18/kd_ours.yaml of their code):
# temperatures (T0=1, 3, 5, 2, 6), KD weight 0.5 (it scales the class- and
# batch-level terms too), CE weight 0.5 on each of the two views, batch 512
# (8 GPUs x 64: the masks, medians and Gram matrices are per GPU, as in the
# original DataParallel runs), SGD lr 0.1 momentum 0.9 wd 1e-4, x0.1 at
# epochs 30/60/90, 100 epochs.
_base_ = ['../_base_/logits_resnet34_resnet18_8xb64-100e_in1k.py']

# Each image gives a weak view (RandomResizedCrop + flip) and a strong view
# (independent RandomResizedCrop + flip + FixMatch RandAugment with 2 ops
# and Cutout); student and teacher run on both (MultiViewDistill).
weak_view = [
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
strong_view = [
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='FixMatchRandAugment', num_ops=2, cutout_max=0.5),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    # img -> [weak, strong]
    dict(
        type='MultiView',
        num_views=[1, 1],
        transforms=[weak_view, strong_view]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# The base sets the teacher, the student, the schedule and the fc logit
# recorders; this config makes the distillation two-view, sets the CE weight
# and lr and adds the MLKD loss.
model = dict(
    type='MultiViewDistill',
    num_views=2,
    data_preprocessor=dict(type='MultiViewClsDataPreprocessor'),
    architecture=dict(
        head=dict(
            # applied to each view: 0.5 * (CE(weak) + CE(strong))
            loss=dict(loss_weight=0.5))),
    distiller=dict(
        distill_losses=dict(
            loss_mlkd=dict(
                type='MLKDLoss',
                temperatures=(1.0, 3.0, 5.0, 2.0, 6.0),
                loss_weight=0.5)),
        loss_forward_mappings=dict(
            loss_mlkd=dict(
                # record_idx 0: weak view, 1: strong view
                preds_S=dict(from_student=True, recorder='fc', record_idx=0),
                preds_T=dict(
                    from_student=False, recorder='fc', record_idx=0),
                preds_S_strong=dict(
                    from_student=True, recorder='fc', record_idx=1),
                preds_T_strong=dict(
                    from_student=False, recorder='fc', record_idx=1)))))

optim_wrapper = dict(optimizer=dict(lr=0.1))

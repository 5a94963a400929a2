# TaT (CVPR 2022), ResNet-34 -> ResNet-18 on ImageNet-1k, as the authors'
# torchdistill config `resnet18_from_resnet34_attn.yaml`:
# one-to-all TaT on the layer4 outputs (512 x 7 x 7, after the ReLU), gamma
# and phi 3x3 conv + BN (batch statistics), theta the identity, one head;
# loss 0.1 * CE + 0.2 * L_TaT. AdamW lr 1.6e-3 (not scaled), wd 5e-4,
# 100 epochs, lr x0.1 at epochs 30/60/90, batch 2048 = 8 GPUs x 256.
# The student starts from torchvision's pretrained ResNet-18, as the authors.
_base_ = ['../_base_/resnet34_resnet18_8xb32-100e_in1k.py']

# The pair's teacher: torchvision ResNet34_Weights.IMAGENET1K_V1 (73.31
# top-1); the student starts from ResNet18_Weights.IMAGENET1K_V1 (69.76),
# converted to mmpretrain keys with mmpretrain's
# tools/model_converters/torchvision_to_mmpretrain.py (README).
student_ckpt = 'path/to/resnet18_torchvision-in1k_mmpretrain.pth'

model = dict(
    architecture=dict(
        head=dict(loss=dict(loss_weight=0.1)),
        # The whole pretrained torchvision ResNet-18, classifier included.
        init_cfg=dict(type='Pretrained', checkpoint=student_ckpt)),
    distiller=dict(
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='backbone.layer4')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='backbone.layer4')),
        distill_losses=dict(
            loss_tat=dict(
                type='TaTLoss',
                student_channels=512,
                teacher_channels=512,
                kernel_size=3,
                teacher_embed=False,
                groups=1,
                per_sample_norm=False,
                loss_weight=0.2)),
        loss_forward_mappings=dict(
            loss_tat=dict(
                s_feature=dict(from_student=True, recorder='feat'),
                t_feature=dict(from_student=False, recorder='feat')))))

train_dataloader = dict(batch_size=256)
val_dataloader = dict(batch_size=256)
test_dataloader = val_dataloader

optim_wrapper = dict(
    optimizer=dict(
        _delete_=True, type='AdamW', lr=1.6e-3, weight_decay=5e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[30, 60, 90], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
# The lr above is for the total batch of 2048 (not scaled by the authors).
auto_scale_lr = dict(base_batch_size=2048)
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook',
        interval=1,
        max_keep_ckpts=1,
        save_best='accuracy/top1',
        rule='greater'))

# Shared base (not a config of its own) of the ImageNet-1k Z-score comparison
# configs ResNet-34 -> ResNet-18 of configs/zscore (KD + Z, DKD + Z),
# configs/mlkd and configs/ctkd (their ResNet-50 -> MobileNetV1 configs
# change teacher and student).
# The logit base ./logits_resnet34_resnet18_8xb32-100e_in1k.py (teacher,
# student with CE weight 1, the fc logit recorders, mmpretrain's ResNet
# schedule: SGD momentum 0.9, wd 1e-4, x0.1 at epochs 30/60/90, 100 epochs)
# with the comparison's batch 512 = 8 GPUs x 64
# and SGD lr 0.2: mmpretrain's imagenet_bs64.py differs from imagenet_bs32.py
# only in the three batch sizes. Teacher checkpoint: torchvision's ResNet-34
# converted to mmpretrain keys (configs/zscore/README.md). Each config adds
# its loss and CE weight.
_base_ = ['./logits_resnet34_resnet18_8xb32-100e_in1k.py']

train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = dict(batch_size=64)

optim_wrapper = dict(optimizer=dict(lr=0.2))
auto_scale_lr = dict(base_batch_size=512)

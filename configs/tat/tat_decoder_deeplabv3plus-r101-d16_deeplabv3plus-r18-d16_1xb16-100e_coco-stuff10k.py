# TaT (CVPR 2022), DeepLabV3+ R-101-D16 -> DeepLabV3+ R-18-D16 on
# COCOStuff10k, as the authors' TaT-seg `train_cocostuff10k_resnet18.sh`:
# B = 16, lr = 0.01, alpha = 0.6, beta = 1, gamma = 1, n = m = 32
# (4x4 patches on the 128x128 map), g = 512, a = 32 (4x4 average pooling).
# mmseg's COCOStuff10k has 171 classes (the authors trained 182-way).
# Distilled: the decoder's last separable conv + BN output, before its ReLU
# (stride 4), teacher and student; 1x1 conv + BN embeddings map 128 -> 512
# channels, with per-sample BN statistics as the authors' distiller.
# Output stride 16, crop 512, SGD Nesterov, cosine per iteration without
# warm-up, 100 epochs, decode head lr x10, one GPU, CE weight 1/B.
# Inherits the TaT R-18 recipe in _base_/ (models, distiller, B = 16, SGD,
# schedule, hooks) on mmseg's COCOStuff10k data; sets the classes, the
# teacher checkpoint, the lr, the TaT hyper-parameters and the train loader.
_base_ = [
    'mmseg::_base_/datasets/coco-stuff10k.py',
    './_base_/tat_decoder_deeplabv3plus-r101-d16_deeplabv3plus-r18-d16_1xb16-100e.py'  # noqa: E501
]

# A DeepLabV3+ R-101-D16-MG124 trained on COCOStuff10k with the teacher model
# of the recipe (mmseg has no DeepLabV3+ COCOStuff10k checkpoint; see
# README.md).
teacher_ckpt = 'path/to/deeplabv3plus_r101-d16-mg124_coco-stuff10k.pth'

base_lr = 0.01
num_classes = 171

teacher = dict(
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))
student = dict(decode_head=dict(num_classes=num_classes))
model = dict(
    architecture=student,
    teacher=teacher,
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        distill_losses=dict(
            loss_tat=dict(
                patch_counts=32,
                groups=512,
                anchor_counts=32,
                alpha=0.6,
                beta=1.0,
                gamma=1.0))))

train_dataloader = dict(
    batch_size=_base_.batch_size,
    sampler=dict(type='DefaultSampler', shuffle=True))

optim_wrapper = dict(optimizer=dict(lr=base_lr))

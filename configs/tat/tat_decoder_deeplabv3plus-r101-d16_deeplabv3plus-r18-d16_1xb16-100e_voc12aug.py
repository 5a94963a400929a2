# TaT (CVPR 2022), DeepLabV3+ R-101-D16 -> DeepLabV3+ R-18-D16 on Pascal VOC
# 2012 aug, as the authors' TaT-seg `train_voc_resnet18.sh`:
# B = 16, lr = 0.007, alpha = 0.1, beta = 1, gamma = 0.4, n = m = 16
# (8x8 patches on the 128x128 map), g = 64, a = 32 (4x4 average pooling).
# Distilled: the decoder's last separable conv + BN output, before its ReLU
# (stride 4), teacher and student; 1x1 conv + BN embeddings map 128 -> 512
# channels, with per-sample BN statistics as the authors' distiller.
# Output stride 16, crop 512, SGD Nesterov, cosine per iteration without
# warm-up, 100 epochs, decode head lr x10, one GPU, CE weight 1/B.
# Inherits the TaT R-18 recipe in _base_/ (models, distiller, B = 16, SGD,
# schedule, hooks) on mmseg's VOC12 aug data; sets the classes, the
# teacher checkpoint, the lr, the TaT hyper-parameters and the train loader.
_base_ = [
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    './_base_/tat_decoder_deeplabv3plus-r101-d16_deeplabv3plus-r18-d16_1xb16-100e.py'  # noqa: E501
]

# A DeepLabV3+ R-101-D16-MG124 trained on VOC12 aug with the teacher model of
# the recipe (the authors' teacher is output stride 16; see README.md for
# using mmseg's D8 zoo checkpoint instead).
teacher_ckpt = 'path/to/deeplabv3plus_r101-d16-mg124_voc12aug.pth'

base_lr = 0.007
num_classes = 21

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
                patch_counts=16,
                groups=64,
                anchor_counts=32,
                alpha=0.1,
                beta=1.0,
                gamma=0.4))))

train_dataloader = dict(
    batch_size=_base_.batch_size,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True))

optim_wrapper = dict(optimizer=dict(lr=base_lr))

# TaT (CVPR 2022), DeepLabV3+ R-101-D16 -> DeepLabV3+ MobileNetV2-D16 on
# COCOStuff10k, as the authors' TaT-seg `train_cocostuff10k_mobilenet.sh`:
# B = 12, lr = 0.007, alpha = 0.4, beta = 1, gamma = 1, n = m = 16
# (8x8 patches on the 128x128 map), g = 64, a = 32 (4x4 average pooling).
# Everything else as the R-18 config: pre-ReLU decoder feature (512 -> 512
# channels here), per-sample BN embeddings, output stride 16, crop 512, SGD
# Nesterov, cosine per iteration, 100 epochs, decode head lr x10, CE x 1/B.
# mmseg's COCOStuff10k has 171 classes (the authors trained 182-way).
_base_ = [
    './tat_decoder_deeplabv3plus-r101-d16_deeplabv3plus-r18-d16_1xb16-100e_coco-stuff10k.py'  # noqa: E501
]

batch_size = 12

# mmseg's DeepLabV3+ MobileNetV2 (512 decoder channels, 48 low-level
# channels) at output stride 16. The backbone starts from open-mmlab's
# ImageNet MobileNetV2 (downloaded by init_cfg at the first run).
model = dict(
    architecture=dict(
        backbone=dict(
            _delete_=True,
            type='MobileNetV2',
            widen_factor=1.0,
            strides=(1, 2, 2, 2, 1, 1, 1),
            dilations=(1, 1, 1, 1, 1, 2, 2),
            out_indices=(1, 2, 4, 6),
            norm_cfg=dict(type='BN', requires_grad=True),
            init_cfg=dict(type='Pretrained',
                          checkpoint='mmcls://mobilenet_v2')),
        decode_head=dict(
            in_channels=320,
            channels=512,
            c1_in_channels=24,
            c1_channels=48,
            loss_decode=dict(loss_weight=1.0 / batch_size))),
    distiller=dict(
        distill_losses=dict(
            loss_tat=dict(
                student_channels=512,
                patch_counts=16,
                groups=64,
                anchor_counts=32,
                alpha=0.4,
                beta=1.0,
                gamma=1.0))))

train_dataloader = dict(batch_size=batch_size)

optim_wrapper = dict(optimizer=dict(lr=0.007))

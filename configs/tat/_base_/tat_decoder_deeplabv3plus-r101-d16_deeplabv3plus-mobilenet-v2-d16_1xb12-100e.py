# TaT (CVPR 2022), DeepLabV3+ R-101-D16 -> DeepLabV3+ MobileNetV2-D16: the
# recipe of the authors' TaT-seg MobileNetV2 scripts without the dataset.
# Shared by ../tat_decoder_deeplabv3plus-r101-d16_deeplabv3plus-mobilenet-v2-
# d16_1xb12-100e_{voc12aug,coco-stuff10k}.py.
# Inherits the R-18 recipe next to this file and changes only the student
# (MobileNetV2 backbone, 512 decoder channels, so 512 -> 512 TaT embeddings)
# and the batch size: B = 12, CE weight 1/B. Left to the dataset configs, as
# there: the classes, the teacher checkpoint, the lr, the TaT
# hyper-parameters and the train dataloader.
_base_ = ['./tat_decoder_deeplabv3plus-r101-d16_deeplabv3plus-r18-d16_1xb16-100e.py']  # noqa: E501

batch_size = 12

# mmseg's DeepLabV3+ MobileNetV2 (512 decoder channels, 48 low-level
# channels) at output stride 16. The backbone starts from open-mmlab's
# ImageNet MobileNetV2 (downloaded by init_cfg at the first run). Set on
# model.architecture only: the top-level `student` helper keeps the R-18
# model (nothing reads it).
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
    distiller=dict(distill_losses=dict(loss_tat=dict(student_channels=512))))

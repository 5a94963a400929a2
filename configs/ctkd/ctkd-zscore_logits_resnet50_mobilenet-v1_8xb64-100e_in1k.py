# CTKD + Z-score logit standardization (CVPR 2024), ResNet-50 -> MobileNetV1
# on ImageNet-1k, with the supplement's ImageNet settings (see the
# ResNet-34 -> ResNet-18 config): KD weight 9, CE weight 0.1, batch 512,
# SGD lr 0.2, 100 epochs, E = 5.
_base_ = ['./ctkd_logits_resnet50_mobilenet-v1_8xb64-100e_in1k.py']

model = dict(
    architecture=dict(
        head=dict(loss=dict(type='CrossEntropyLoss', loss_weight=0.1))),
    distiller=dict(
        distill_losses=dict(
            loss_ctkd=dict(
                _delete_=True,
                type='LogitStandardization',
                loss=dict(
                    type='CTKDLoss',
                    loss_weight=9.0,
                    temp_type='global',
                    t_start=1.0,
                    t_range=20.0,
                    warmup_epochs=5)))))

# Shared part (not a config of its own) of the CanKD Cityscapes configs,
# cankd_backbone_*_cityscapes: the distiller, one CanKD loss (dot-product
# affinity, mu = 5) between the last backbone stages, student layer4 (R-18-D8,
# 512 channels) -> teacher layer4 (R-101-D8, 2048 channels), through a
# student-side 1x1 conv connector (no norm, no activation) 512 -> 2048.
# The PSPNet -> DeepLabV3 R-18 config changes mu, the MobileNetV2 config the
# student side.
# Each config lists this file after its mmseg student config in `_base_` and
# sets `model.distiller=_base_.cankd_distiller`: the student config
# already has a `model` and mmengine allows a key in only one base of a
# config, hence the helper name (it stays in the built config as an
# unread top-level key).
custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

cankd_distiller = dict(
    type='CheckedDistiller',
    student_recorders=dict(
        feat=dict(type='ModuleOutputs', source='backbone.layer4')),
    teacher_recorders=dict(
        feat=dict(type='ModuleOutputs', source='backbone.layer4')),
    connectors=dict(
        loss_cankd_sfeat=dict(
            type='ConvModuleConnector',
            in_channel=512,
            out_channel=2048,
            norm_cfg=None,
            act_cfg=None)),
    distill_losses=dict(
        loss_cankd=dict(type='CanKDLoss', in_channels=2048, loss_weight=5.0)),
    loss_forward_mappings=dict(
        loss_cankd=dict(
            s_feature=dict(
                from_student=True,
                recorder='feat',
                connector='loss_cankd_sfeat'),
            t_feature=dict(from_student=False, recorder='feat'))))

find_unused_parameters = True

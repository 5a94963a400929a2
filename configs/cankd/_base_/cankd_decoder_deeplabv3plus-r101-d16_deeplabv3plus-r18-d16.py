# Shared part (not a config of its own) of the CanKD DeepLabV3+ R-18-D16
# configs, cankd_decoder_deeplabv3plus-r101-d16_deeplabv3plus-r18-d16_*: the
# distiller of ./cankd_decoder_deeplabv3plus-r101-d16.py with a student-side
# 1x1 conv connector (no norm, no activation) that maps the R-18 decoder's
# 128 channels to the teacher's 512 first.
_base_ = ['./cankd_decoder_deeplabv3plus-r101-d16.py']

cankd_distiller = dict(
    connectors=dict(
        loss_cankd_sfeat=dict(
            type='ConvModuleConnector',
            in_channel=128,
            out_channel=512,
            norm_cfg=None,
            act_cfg=None)),
    loss_forward_mappings=dict(
        loss_cankd=dict(s_feature=dict(connector='loss_cankd_sfeat'))))

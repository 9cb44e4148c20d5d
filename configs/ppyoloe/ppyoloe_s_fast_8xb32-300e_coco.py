# PP-YOLOE-S (without "+"): ImageNet mean/std and no alpha in the backbone's RepVGG blocks.
_base_ = './ppyoloe_plus_s_fast_8xb8-80e_coco.py'

# The ImageNet-pretrained backbone; only recorded here, the zoo never downloads it.
checkpoint = 'https://download.openmmlab.com/mmyolo/v0/ppyoloe/ppyoloe_pretrain/cspresnet_s_imagenet1k_pretrained-2be81763.pth'  # noqa

max_epochs = 300

model = dict(
    data_preprocessor=dict(
        mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
        std=[0.229 * 255., 0.224 * 255., 0.225 * 255.]),
    backbone=dict(
        block_cfg=dict(use_alpha=False),
        init_cfg=dict(
            type='Pretrained',
            prefix='backbone.',
            checkpoint=checkpoint,
            map_location='cpu')),
    train_cfg=dict(initial_epoch=100))

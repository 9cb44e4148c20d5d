# Fine-tuning PP-YOLOE+-s on the one-class cat dataset (MMYOLO's tutorial), the backbone frozen
# (which changes training only).
_base_ = 'ppyoloe_plus_s_fast_8xb8-80e_coco.py'

class_name = ('cat', )
num_classes = len(class_name)

model = dict(
    backbone=dict(frozen_stages=4),
    bbox_head=dict(head_module=dict(num_classes=num_classes)),
    train_cfg=dict(
        initial_assigner=dict(num_classes=num_classes),
        assigner=dict(num_classes=num_classes)))

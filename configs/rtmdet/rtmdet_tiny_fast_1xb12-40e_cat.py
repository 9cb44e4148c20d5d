# Fine-tuning RTMDet-tiny on the one-class cat dataset (MMYOLO's tutorial), the backbone frozen
# (which changes training only).
_base_ = 'rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py'

class_name = ('cat', )
num_classes = len(class_name)

model = dict(
    backbone=dict(frozen_stages=4),
    bbox_head=dict(head_module=dict(num_classes=num_classes)),
    train_cfg=dict(assigner=dict(num_classes=num_classes)))

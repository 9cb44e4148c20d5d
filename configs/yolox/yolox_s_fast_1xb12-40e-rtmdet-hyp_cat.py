# Fine-tuning YOLOX-s on the one-class cat dataset (MMYOLO's tutorial), the backbone frozen
# (which changes training only).
_base_ = './yolox_s_fast_8xb32-300e-rtmdet-hyp_coco.py'

class_name = ('cat', )
num_classes = len(class_name)

model = dict(
    backbone=dict(frozen_stages=4),
    bbox_head=dict(head_module=dict(num_classes=num_classes)))

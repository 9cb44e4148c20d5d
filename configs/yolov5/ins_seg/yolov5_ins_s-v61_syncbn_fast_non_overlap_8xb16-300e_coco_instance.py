# One mask per instance in training instead of one id image per picture: the network is the same.
_base_ = './yolov5_ins_s-v61_syncbn_fast_8xb16-300e_coco_instance.py'

mask_overlap = False

model = dict(bbox_head=dict(mask_overlap=mask_overlap))

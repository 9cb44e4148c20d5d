# The 300-epoch schedule of YOLOv6-S: the same network as the 400-epoch one.
_base_ = './yolov6_s_syncbn_fast_8xb32-400e_coco.py'

max_epochs = 300  # Maximum training epochs

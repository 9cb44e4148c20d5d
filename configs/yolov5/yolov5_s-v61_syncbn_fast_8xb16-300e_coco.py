_base_ = 'yolov5_s-v61_syncbn_8xb16-300e_coco.py'

# "fast": mmyolo's own data preprocessor (batched targets for faster training); the network is
# the same.
model = dict(
    data_preprocessor=dict(
        type='YOLOv5DetDataPreprocessor',
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        bgr_to_rgb=True))

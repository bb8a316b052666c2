"""TensorFlow's SavedModel tag names, for code that loads with ``tags=[tag_constants.SERVING]``."""

SERVING = "serve"
TRAINING = "train"
GPU = "gpu"
TPU = "tpu"

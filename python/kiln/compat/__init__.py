"""Drop-in replacements for APIs kiln's users knew: ``trt_convert`` for TF-TRT's converter."""

# %% [markdown]
# # kiln quickstart
#
# The TF-TRT workflow on kiln, cell by cell (this file opens as a notebook in Jupyter and VS Code):
# load the MNIST SavedModel that ships with kiln, convert it to FP16 engines, save, load, infer,
# and compare with the native model. `KILN_EXAMPLE_OUT` says where the converted model goes.

# %%
import os
import pathlib
import tempfile
import time

import numpy as np

import kiln

repo = pathlib.Path(__file__).resolve().parents[2] if "__file__" in globals() else pathlib.Path.cwd()
mnist = repo / "fixtures" / "mnist"
out = pathlib.Path(os.environ.get("KILN_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="kiln_quickstart_"))
device = "cuda" if kiln.cuda_device_count() > 0 else "cpu"
print("kiln", kiln.__version__, "on", device)

# %% [markdown]
# ## The native model

# %%
native = kiln.load(mnist / "saved_model", device=device)
print(native.signature)
images = np.load(mnist / "heldout_images.npy")
labels = np.load(mnist / "heldout_labels.npy")
native_predictions = native.run({"input_1": images})["probabilities"]
print("native accuracy:", np.mean(np.argmax(native_predictions, axis=1) == labels))

# %% [markdown]
# ## Convert, build, save

# %%
params = kiln.ConversionParams(precision_mode=kiln.PrecisionMode.FP16, engine_device=device)
converter = kiln.Converter(mnist / "saved_model", conversion_params=params)
converter.convert()


def build_batches():
    yield (images,)


converter.build(input_fn=build_batches)
converter.save(out / "mnist_fp16")
converter.summary()  # in a notebook this cell shows the summary as a table

# %% [markdown]
# ## Load and infer

# %%
model = kiln.load(out / "mnist_fp16", device=device)
infer = model.signatures["serving_default"]
predictions = infer(input_1=images)["probabilities"]
print("fp16 accuracy:", np.mean(np.argmax(predictions, axis=1) == labels))
print("largest difference from native:", float(np.max(np.abs(predictions - native_predictions))))
print(model.engine_stats())

# %% [markdown]
# ## Time both

# %%
for name, m in (("native", native), ("fp16 engines", model)):
    m.run({"input_1": images})
    start = time.perf_counter()
    for _ in range(20):
        m.run({"input_1": images})
    print(f"{name}: {(time.perf_counter() - start) / 20 * 1e3:.2f} ms per batch of {len(images)}")

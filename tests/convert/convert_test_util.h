#pragma once
// Shared by the converter's tests: the MNIST fixture, conversion round trips through disk, and
// captured warnings.

#include <filesystem>
#include <string>
#include <vector>

#include "io/npy.h"
#include "kiln/converter.h"
#include "util/log.h"
#include "util/test_util.h"

namespace kiln::testing {

// Held-out MNIST digits ([360,28,28,1] float32) and labels, from the committed fixture.
struct MnistData {
  Tensor images;
  Tensor labels;
};
const MnistData& Mnist();
std::string MnistModel();

// Rows [start, start + n) of a tensor's first dimension.
Tensor Rows(const Tensor& t, int64_t start, int64_t n);

// Input sets of `n` rows each from `images` under input name "input_1".
std::vector<InputSet> MnistBatches(int64_t rows, int64_t batch);

// The share of rows whose argmax agrees.
double Top1Agreement(const Tensor& a, const Tensor& b);
// The largest |a - b| (infinite when the shapes differ or only one side is NaN; NaN against NaN
// agrees), and the largest |t|.
double MaxAbsDiff(const Tensor& a, const Tensor& b);
double MaxAbs(const Tensor& t);

// A fresh directory under the system temp dir, removed when the object goes.
class TempDir {
 public:
  explicit TempDir(const std::string& tag);
  ~TempDir();
  std::string path(const std::string& name = "") const;

 private:
  std::filesystem::path dir_;
};

// Collects kiln's warnings while alive.
class WarningCapture {
 public:
  WarningCapture();
  ~WarningCapture();
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Whether some warning contains `text`.
  bool Saw(const std::string& text) const;
  std::string All() const;

 private:
  std::vector<std::string> warnings_;
  LogSink previous_;
};

// Convert, optionally build, save to `dir`, and load the result, with engines for `device` (unless
// params name one) and the model loaded there: the CPU unless a test asks for the GPU, so that tests
// behave alike on machines with and without one.
StatusOr<std::unique_ptr<Model>> ConvertSaveLoad(const std::string& source, const ConversionParams& params,
                                                 const std::string& dir, const InputFn& calibration = {},
                                                 const InputFn& build = {}, bool save_engines = true,
                                                 Device device = Device::CPU());

// The model's one engine op answered its one call with the engine saved in its files: no build, no
// native run, no warning.
void ExpectOneCallBySavedEngine(const Model& model, const WarningCapture& warnings);

// Runs a single-input model on `input` under `name` and returns its single output.
StatusOr<Tensor> RunSingle(const Model& model, const std::string& name, const Tensor& input);

}  // namespace kiln::testing

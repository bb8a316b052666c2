#include "convert/convert_test_util.h"

#include <unistd.h>

#include <cmath>
#include <cstring>

namespace kiln::testing {

namespace fs = std::filesystem;

const MnistData& Mnist() {
  static const MnistData* data = [] {
    auto* d = new MnistData;
    d->images = io::ReadNpy(SourcePath("fixtures/mnist/heldout_images.npy")).value();
    d->labels = io::ReadNpy(SourcePath("fixtures/mnist/heldout_labels.npy")).value();
    return d;
  }();
  return *data;
}

std::string MnistModel() { return SourcePath("fixtures/mnist/saved_model"); }

Tensor Rows(const Tensor& t, int64_t start, int64_t n) {
  Shape shape = t.shape();
  const size_t row_bytes = t.byte_size() / static_cast<size_t>(shape[0]);
  shape[0] = n;
  Tensor out(t.dtype(), shape);
  std::memcpy(out.raw_data(), static_cast<const char*>(t.raw_data()) + start * row_bytes, n * row_bytes);
  return out;
}

std::vector<InputSet> MnistBatches(int64_t rows, int64_t batch) {
  std::vector<InputSet> sets;
  for (int64_t s = 0; s < rows; s += batch) sets.push_back({{"input_1", Rows(Mnist().images, s, batch)}});
  return sets;
}

double Top1Agreement(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.ToFloatVector(), y = b.ToFloatVector();
  const int64_t rows = a.dim(0), cols = a.num_elements() / rows;
  int64_t agree = 0;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t ia = 0, ib = 0;
    for (int64_t c = 1; c < cols; ++c) {
      if (x[r * cols + c] > x[r * cols + ia]) ia = c;
      if (y[r * cols + c] > y[r * cols + ib]) ib = c;
    }
    agree += ia == ib;
  }
  return static_cast<double>(agree) / static_cast<double>(rows);
}

double MaxAbsDiff(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.ToFloatVector(), y = b.ToFloatVector();
  double m = x.size() == y.size() ? 0.0 : INFINITY;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    const double d = std::abs(double{x[i]} - y[i]);
    if (std::isnan(d) && std::isnan(x[i]) != std::isnan(y[i])) return INFINITY;
    if (!std::isnan(d)) m = std::max(m, d);
  }
  return m;
}

double MaxAbs(const Tensor& t) {
  double m = 0.0;
  for (float v : t.ToFloatVector()) m = std::max(m, std::abs(double{v}));
  return m;
}

TempDir::TempDir(const std::string& tag) {
  static int counter = 0;
  dir_ =
      fs::temp_directory_path() / ("kiln_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  fs::remove_all(dir_);
  fs::create_directories(dir_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string TempDir::path(const std::string& name) const {
  return name.empty() ? dir_.string() : (dir_ / name).string();
}

WarningCapture::WarningCapture() {
  previous_ = SetLogSink([this](const std::string& m) { warnings_.push_back(m); });
}

WarningCapture::~WarningCapture() { SetLogSink(previous_); }

bool WarningCapture::Saw(const std::string& text) const {
  for (const auto& w : warnings_) {
    if (w.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string WarningCapture::All() const {
  std::string out;
  for (const auto& w : warnings_) out += w + "\n";
  return out;
}

StatusOr<std::unique_ptr<Model>> ConvertSaveLoad(const std::string& source, const ConversionParams& params,
                                                 const std::string& dir, const InputFn& calibration,
                                                 const InputFn& build, bool save_engines, Device device) {
  ConversionParams on_device = params;
  if (!on_device.engine_device) on_device.engine_device = device;
  KILN_ASSIGN_OR_RETURN(auto converter, Converter::Create(source, on_device));
  KILN_RETURN_IF_ERROR(converter->Convert(calibration));
  if (build) KILN_RETURN_IF_ERROR(converter->Build(build));
  SaveOptions save;
  save.save_engines = save_engines;
  KILN_RETURN_IF_ERROR(converter->Save(dir, save));
  return Model::Load(dir, {.device = device});
}

void ExpectOneCallBySavedEngine(const Model& model, const WarningCapture& warnings) {
  ASSERT_EQ(model.engine_stats().size(), 1u);
  const EngineOpStats stats = model.engine_stats()[0];
  EXPECT_EQ(stats.engines_loaded, 1);
  EXPECT_EQ(stats.engines_built, 0);
  EXPECT_EQ(stats.engine_runs, 1);
  EXPECT_EQ(stats.native_runs, 0);
  EXPECT_TRUE(warnings.warnings().empty()) << warnings.All();
}

StatusOr<Tensor> RunSingle(const Model& model, const std::string& name, const Tensor& input) {
  KILN_ASSIGN_OR_RETURN(auto outputs, model.Run({{name, input}}));
  if (outputs.size() != 1) return Internal("expected one output");
  return outputs.begin()->second;
}

}  // namespace kiln::testing

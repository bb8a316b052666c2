// OnnxRNN, OnnxGRU, OnnxLSTM (src/ir/ops/onnx_recurrent_ops.cc) as ONNX defines them. Per
// direction, the input projections of every step are one matrix product; each step then adds
// the recurrent product of the previous state (one more) and applies the gates row by row. A
// batch row with a sequence length stops there: its later outputs are zero and its final state is
// the one at its last step (for the reverse direction, its steps run from its own last one).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "kernels/cpu/gemm.h"
#include "runtime/kernel.h"

namespace kiln::kernels::cpu {
namespace {

enum class Act { kSigmoid, kTanh, kRelu, kAffine, kLeakyRelu, kThresholdedRelu, kScaledTanh, kHardSigmoid, kElu,
                 kSoftsign, kSoftplus };

struct Activation {
  Act kind = Act::kTanh;
  float alpha = 0, beta = 0;

  template <typename T>
  T operator()(T x) const {
    switch (kind) {
      case Act::kSigmoid: return T(1) / (T(1) + std::exp(-x));
      case Act::kTanh: return std::tanh(x);
      case Act::kRelu: return std::max(x, T(0));
      case Act::kAffine: return T(alpha) * x + T(beta);
      case Act::kLeakyRelu: return x >= 0 ? x : T(alpha) * x;
      case Act::kThresholdedRelu: return x > T(alpha) ? x : T(0);
      case Act::kScaledTanh: return T(alpha) * std::tanh(T(beta) * x);
      case Act::kHardSigmoid: return std::clamp(T(alpha) * x + T(beta), T(0), T(1));
      case Act::kElu: return x >= 0 ? x : T(alpha) * (std::exp(x) - T(1));
      case Act::kSoftsign: return x / (T(1) + std::abs(x));
      case Act::kSoftplus: return std::log1p(std::exp(x));
    }
    return x;
  }
};

// The activations of every direction, with ONNX's defaults; alpha and beta values are taken, in
// order, by the functions that use them (defaults when the lists run out).
StatusOr<std::vector<Activation>> ParseActivations(const runtime::KernelContext& ctx, int per_direction, int dirs) {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ctx.Attr<std::vector<std::string>>("activations"));
  KILN_ASSIGN_OR_RETURN(std::vector<float> alphas, ctx.Attr<std::vector<float>>("activation_alpha"));
  KILN_ASSIGN_OR_RETURN(std::vector<float> betas, ctx.Attr<std::vector<float>>("activation_beta"));
  if (names.empty()) {
    const std::string& op = ctx.node().op;
    names = op == "OnnxLSTM"  ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
            : op == "OnnxGRU" ? std::vector<std::string>{"Sigmoid", "Tanh"}
                              : std::vector<std::string>{"Tanh"};
  }
  if (static_cast<int>(names.size()) == per_direction && dirs == 2) {
    const std::vector<std::string> forward = names;
    names.insert(names.end(), forward.begin(), forward.end());
  }
  if (static_cast<int>(names.size()) != per_direction * dirs) {
    return InvalidArgument("activations lists " + std::to_string(names.size()) + " functions; " + ctx.node().op +
                           " with " + std::to_string(dirs) + " direction(s) takes " +
                           std::to_string(per_direction * dirs));
  }
  size_t next_alpha = 0, next_beta = 0;
  auto take = [](const std::vector<float>& list, size_t& next, float fallback) {
    return next < list.size() ? list[next++] : fallback;
  };
  std::vector<Activation> out;
  for (const std::string& name : names) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    Activation a;
    if (lower == "sigmoid") {
      a.kind = Act::kSigmoid;
    } else if (lower == "tanh") {
      a.kind = Act::kTanh;
    } else if (lower == "relu") {
      a.kind = Act::kRelu;
    } else if (lower == "affine") {
      a = {Act::kAffine, take(alphas, next_alpha, 1.0f), take(betas, next_beta, 0.0f)};
    } else if (lower == "leakyrelu") {
      a = {Act::kLeakyRelu, take(alphas, next_alpha, 0.01f), 0};
    } else if (lower == "thresholdedrelu") {
      a = {Act::kThresholdedRelu, take(alphas, next_alpha, 1.0f), 0};
    } else if (lower == "scaledtanh") {
      a = {Act::kScaledTanh, take(alphas, next_alpha, 1.0f), take(betas, next_beta, 1.0f)};
    } else if (lower == "hardsigmoid") {
      a = {Act::kHardSigmoid, take(alphas, next_alpha, 0.2f), take(betas, next_beta, 0.5f)};
    } else if (lower == "elu") {
      a = {Act::kElu, take(alphas, next_alpha, 1.0f), 0};
    } else if (lower == "softsign") {
      a.kind = Act::kSoftsign;
    } else if (lower == "softplus") {
      a.kind = Act::kSoftplus;
    } else {
      return InvalidArgument("activation '" + name + "' is not one ONNX defines for recurrent layers");
    }
    out.push_back(a);
  }
  return out;
}

bool Absent(const Tensor& t) { return t.num_elements() == 0; }

Status CheckShape(const Tensor& t, const Shape& want, const char* what) {
  if (t.shape() != want) {
    return InvalidArgument(std::string(what) + " is " + t.DebugString() + "; it must be " + ShapeToString(want));
  }
  return OkStatus();
}

template <typename T>
Status RunRecurrent(runtime::KernelContext& ctx) {
  const std::string& op = ctx.node().op;
  const bool lstm = op == "OnnxLSTM", gru = op == "OnnxGRU";
  const int gates = lstm ? 4 : gru ? 3 : 1;
  KILN_ASSIGN_OR_RETURN(std::string direction, ctx.Attr<std::string>("direction"));
  KILN_ASSIGN_OR_RETURN(int64_t hidden, ctx.Attr<int64_t>("hidden_size"));
  KILN_ASSIGN_OR_RETURN(float clip, ctx.Attr<float>("clip"));
  KILN_ASSIGN_OR_RETURN(int64_t linear_before_reset, ctx.Attr<int64_t>("linear_before_reset"));
  const int dirs = direction == "bidirectional" ? 2 : 1;
  KILN_ASSIGN_OR_RETURN(std::vector<Activation> acts, ParseActivations(ctx, lstm ? 3 : gru ? 2 : 1, dirs));

  const Tensor& x = ctx.input(0);
  if (x.rank() != 3) return InvalidArgument("X must be [seq, batch, input], got " + x.DebugString());
  const int64_t seq = x.dim(0), batch = x.dim(1), input = x.dim(2), H = hidden, GH = gates * hidden;
  KILN_RETURN_IF_ERROR(CheckShape(ctx.input(1), {dirs, GH, input}, "W"));
  KILN_RETURN_IF_ERROR(CheckShape(ctx.input(2), {dirs, GH, H}, "R"));
  const Tensor& b = ctx.input(3);
  if (!Absent(b)) KILN_RETURN_IF_ERROR(CheckShape(b, {dirs, 2 * GH}, "B"));
  std::vector<int64_t> lengths(static_cast<size_t>(batch), seq);
  if (!Absent(ctx.input(4))) {
    KILN_RETURN_IF_ERROR(CheckShape(ctx.input(4), {batch}, "sequence_lens"));
    KILN_ASSIGN_OR_RETURN(lengths, ctx.input(4).ToInt64Vector());
    for (int64_t i = 0; i < batch; ++i) {
      if (lengths[i] < 0 || lengths[i] > seq) {
        return InvalidArgument("sequence_lens[" + std::to_string(i) + "] is " + std::to_string(lengths[i]) +
                               "; it must be in [0, " + std::to_string(seq) + "]");
      }
    }
  }
  const Tensor& h0 = ctx.input(5);
  if (!Absent(h0)) KILN_RETURN_IF_ERROR(CheckShape(h0, {dirs, batch, H}, "initial_h"));
  const Tensor* c0 = lstm ? &ctx.input(6) : nullptr;
  const Tensor* peep = lstm ? &ctx.input(7) : nullptr;
  if (lstm && !Absent(*c0)) KILN_RETURN_IF_ERROR(CheckShape(*c0, {dirs, batch, H}, "initial_c"));
  if (lstm && !Absent(*peep)) KILN_RETURN_IF_ERROR(CheckShape(*peep, {dirs, 3 * H}, "P"));
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    if (i != 4 && !Absent(ctx.input(i)) && ctx.input(i).dtype() != x.dtype()) {
      return InvalidArgument("input " + std::to_string(i) + " is " + ctx.input(i).DebugString() + "; X is " +
                             std::string(DTypeName(x.dtype())));
    }
  }
  if (!nn::FitsBlas(seq * batch) || !nn::FitsBlas(GH) || !nn::FitsBlas(input)) {
    return InvalidArgument("X " + x.DebugString() + " is too large for one matrix product");
  }

  Tensor y(x.dtype(), {seq, dirs, batch, H});  // zero: steps past a row's length stay zero
  Tensor& y_h = ctx.allocate_output(1, x.dtype(), {dirs, batch, H});
  Tensor* y_c = lstm ? &ctx.allocate_output(2, x.dtype(), {dirs, batch, H}) : nullptr;
  auto clipped = [clip](T v) { return clip > 0 ? std::clamp(v, T(-clip), T(clip)) : v; };

  std::vector<T> xw(static_cast<size_t>(seq * batch * GH)), hr(static_cast<size_t>(batch * GH));
  std::vector<T> h(static_cast<size_t>(batch * H)), c(static_cast<size_t>(batch * H));
  std::vector<T> h_next(h.size()), reset_h(h.size()), z(h.size());
  for (int d = 0; d < dirs; ++d) {
    const bool reverse = direction == "reverse" || d == 1;
    const Activation* f = &acts[static_cast<size_t>(d) * (lstm ? 3 : gru ? 2 : 1)];
    const T* w = ctx.input(1).data<T>() + d * GH * input;
    const T* r = ctx.input(2).data<T>() + d * GH * H;
    const T* wb = Absent(b) ? nullptr : b.data<T>() + d * 2 * GH;
    const T* rb = wb == nullptr ? nullptr : wb + GH;
    const T* p = lstm && !Absent(*peep) ? peep->data<T>() + d * 3 * H : nullptr;
    // Input projections of every step, with both biases (GRU's recurrent bias of the candidate
    // gate stays apart when it is applied before the reset).
    nn::Gemm<T>(false, true, seq * batch, GH, input, x.data<T>(), input, w, input, xw.data(), GH);
    for (int64_t row = 0; row < seq * batch; ++row) {
      for (int64_t j = 0; j < GH && wb != nullptr; ++j) {
        const bool apart = gru && j >= 2 * H;
        xw[row * GH + j] += wb[j] + (apart ? T(0) : rb[j]);
      }
    }
    if (Absent(h0)) {
      std::fill(h.begin(), h.end(), T(0));
    } else {
      std::memcpy(h.data(), h0.data<T>() + d * batch * H, h.size() * sizeof(T));
    }
    if (lstm && !Absent(*c0)) {
      std::memcpy(c.data(), c0->data<T>() + d * batch * H, c.size() * sizeof(T));
    } else {
      std::fill(c.begin(), c.end(), T(0));
    }
    for (int64_t step = 0; step < seq; ++step) {
      // The recurrent product of the previous state; for GRU without linear_before_reset only its
      // update and reset gates (the candidate's comes after the reset).
      const int64_t recurrent_rows = gru && linear_before_reset == 0 ? 2 * H : GH;
      nn::Gemm<T>(false, true, batch, recurrent_rows, H, h.data(), H, r, H, hr.data(), GH);
      h_next = h;
      for (int64_t n = 0; n < batch; ++n) {
        if (step >= lengths[n]) continue;
        const int64_t t = reverse ? lengths[n] - 1 - step : step;
        const T* g = &xw[(t * batch + n) * GH];
        const T* q = &hr[n * GH];
        T* hn = &h_next[n * H];
        const T* hp = &h[n * H];
        if (lstm) {
          T* cn = &c[n * H];
          for (int64_t k = 0; k < H; ++k) {
            const T c_prev = cn[k];
            const T i_gate = f[0](clipped(g[k] + q[k] + (p ? p[k] * c_prev : T(0))));
            const T f_gate = f[0](clipped(g[2 * H + k] + q[2 * H + k] + (p ? p[2 * H + k] * c_prev : T(0))));
            const T cand = f[1](clipped(g[3 * H + k] + q[3 * H + k]));
            const T c_new = f_gate * c_prev + i_gate * cand;
            const T o_gate = f[0](clipped(g[H + k] + q[H + k] + (p ? p[H + k] * c_new : T(0))));
            cn[k] = c_new;
            hn[k] = o_gate * f[2](c_new);
          }
        } else if (gru) {
          for (int64_t k = 0; k < H; ++k) {
            z[n * H + k] = f[0](clipped(g[k] + q[k]));
            const T reset = f[0](clipped(g[H + k] + q[H + k]));
            if (linear_before_reset != 0) {
              const T rbh = rb == nullptr ? T(0) : rb[2 * H + k];
              hn[k] = f[1](clipped(g[2 * H + k] + reset * (q[2 * H + k] + rbh)));
            } else {
              reset_h[n * H + k] = reset * hp[k];
            }
          }
        } else {
          for (int64_t k = 0; k < H; ++k) hn[k] = f[0](clipped(g[k] + q[k]));
        }
      }
      if (gru && linear_before_reset == 0) {
        // The candidate's recurrent product takes the reset state.
        nn::Gemm<T>(false, true, batch, H, H, reset_h.data(), H, r + 2 * H * H, H, hr.data() + 2 * H, GH);
        for (int64_t n = 0; n < batch; ++n) {
          if (step >= lengths[n]) continue;
          const int64_t t = reverse ? lengths[n] - 1 - step : step;
          const T* g = &xw[(t * batch + n) * GH];
          for (int64_t k = 0; k < H; ++k) {
            const T rbh = rb == nullptr ? T(0) : rb[2 * H + k];
            h_next[n * H + k] = f[1](clipped(g[2 * H + k] + hr[n * GH + 2 * H + k] + rbh));
          }
        }
      }
      if (gru) {
        for (int64_t n = 0; n < batch; ++n) {
          if (step >= lengths[n]) continue;
          for (int64_t k = 0; k < H; ++k) {
            const T zk = z[n * H + k];
            h_next[n * H + k] = (T(1) - zk) * h_next[n * H + k] + zk * h[n * H + k];
          }
        }
      }
      h.swap(h_next);
      for (int64_t n = 0; n < batch; ++n) {
        if (step >= lengths[n]) continue;
        const int64_t t = reverse ? lengths[n] - 1 - step : step;
        std::memcpy(y.data<T>() + ((t * dirs + d) * batch + n) * H, &h[n * H], H * sizeof(T));
      }
    }
    std::memcpy(y_h.data<T>() + d * batch * H, h.data(), h.size() * sizeof(T));
    if (lstm) std::memcpy(y_c->data<T>() + d * batch * H, c.data(), c.size() * sizeof(T));
  }
  ctx.set_output(0, std::move(y));
  return OkStatus();
}

Status Recurrent(runtime::KernelContext& ctx) {
  switch (ctx.input(0).dtype()) {
    case DType::kFloat32: return RunRecurrent<float>(ctx);
    case DType::kFloat64: return RunRecurrent<double>(ctx);
    default: return InvalidArgument("X is " + ctx.input(0).DebugString() + "; it must be float32 or float64");
  }
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("OnnxRNN", Recurrent);
KILN_REGISTER_CPU_KERNEL("OnnxGRU", Recurrent);
KILN_REGISTER_CPU_KERNEL("OnnxLSTM", Recurrent);

}  // namespace kiln::kernels::cpu

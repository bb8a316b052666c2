// A fused matmul's product on cuBLASLt (float32, float16 or bfloat16, accumulated in float32), with
// its bias, residual and activation folded in through the epilogue (out = act(x . y + bias +
// residual) in one kernel), so the fused op makes no second pass over its output. Algorithms are timed among
// cuBLASLt's candidates, once per problem.
#include <cublasLt.h>

#include <compare>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "cuda/check.h"
#include "cuda/timing.h"
#include "kernels/cuda/matmul.h"
#include "runtime/tactics.h"

namespace kiln::cuda {
namespace {

constexpr size_t kWorkspaceBytes = size_t{4} << 20;

// The largest power of two up to 256 that divides the address (what cuBLASLt's alignment
// preferences describe).
uint32_t AlignmentOf(const void* p) {
  const auto address = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 256;
  while (a > 1 && address % a != 0) a /= 2;
  return a;
}

// One cuBLASLt handle per device, created on first use and kept for the process.
StatusOr<cublasLtHandle_t> LtHandle(int device) {
  static std::mutex mu;
  static std::map<int, cublasLtHandle_t> handles;
  std::lock_guard<std::mutex> lock(mu);
  auto it = handles.find(device);
  if (it != handles.end()) return it->second;
  cublasLtHandle_t handle = nullptr;
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtCreate(&handle));
  handles[device] = handle;
  return handle;
}

// Descriptors of one product, destroyed with it.
struct LtProblem {
  LtProblem() = default;
  LtProblem(const LtProblem&) = delete;
  LtProblem& operator=(const LtProblem&) = delete;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  ~LtProblem() {
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (desc) cublasLtMatmulDescDestroy(desc);
  }
};

// What an algorithm is chosen for: the problem, its addends, the math mode and the operands'
// alignments.
struct AlgoKey {
  int device;
  cudaDataType_t type;
  int64_t m, n, k, batch, stride_x, stride_y;
  bool adj_x, adj_y, bias, residual, tf32;
  uint32_t align[4];
  GemmActivation activation;
  auto operator<=>(const AlgoKey&) const = default;
};

constexpr int kCandidates = 8;

// An algorithm and the workspace it needs.
struct Chosen {
  cublasLtMatmulAlgo_t algo;
  size_t workspace = 0;
};

// The fastest of cuBLASLt's first kCandidates heuristic choices for problem `p`, each timed on the
// stream (once to warm up, then three runs) the first time a problem is seen: the heuristic's own
// first choice is often not the fastest. Timing waits for the run's stream, on first use only.
StatusOr<Chosen> ChooseAlgo(cublasLtHandle_t handle, const LtProblem& p, cudaStream_t stream,
                            const uint32_t (&align)[4], const void* a, const void* b, const void* c, void* d,
                            const float* beta, void* workspace) {
  cublasLtMatmulPreference_t pref = nullptr;
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulPreferenceCreate(&pref));
  const uint64_t workspace_bytes = kWorkspaceBytes;
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes,
                                       sizeof(workspace_bytes));
  const cublasLtMatmulPreferenceAttributes_t kAlign[4] = {
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
  for (int i = 0; i < 4; ++i) cublasLtMatmulPreferenceSetAttribute(pref, kAlign[i], &align[i], sizeof(align[i]));
  cublasLtMatmulHeuristicResult_t results[kCandidates] = {};
  int found = 0;
  const cublasStatus_t status =
      cublasLtMatmulAlgoGetHeuristic(handle, p.desc, p.a, p.b, p.c, p.c, pref, kCandidates, results, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  KILN_CUBLAS_RETURN_IF_ERROR(status);
  if (found == 0) return Unimplemented("cuBLASLt has no algorithm for this product with its epilogue");
  if (found == 1) return Chosen{results[0].algo, results[0].workspaceSize};

  const float alpha = 1.0f;
  KILN_ASSIGN_OR_RETURN(int best, FastestCandidate(stream, found, [&](int i) {
                          return results[i].state == CUBLAS_STATUS_SUCCESS &&
                                 cublasLtMatmul(handle, p.desc, &alpha, a, p.a, b, p.b, beta, c, p.c, d, p.c,
                                                &results[i].algo, workspace, kWorkspaceBytes,
                                                stream) == CUBLAS_STATUS_SUCCESS;
                        }));
  if (best < 0) best = 0;  // none could be timed: the heuristic's first choice
  return Chosen{results[best].algo, results[best].workspaceSize};
}

// The problem as a tactic key (runtime/tactics.h): everything but the device.
std::string TacticKey(const AlgoKey& k) {
  std::string key = "cublaslt";
  for (int64_t v : {int64_t{k.type}, k.m, k.n, k.k, k.batch, k.stride_x, k.stride_y, int64_t{k.adj_x},
                    int64_t{k.adj_y}, int64_t{k.bias}, int64_t{k.residual}, int64_t{k.tf32}, int64_t{k.align[0]},
                    int64_t{k.align[1]}, int64_t{k.align[2]}, int64_t{k.align[3]}}) {
    key.append(" ").append(std::to_string(v));
  }
  // Keys of products without an activation keep their older form.
  if (k.activation != GemmActivation::kNone) key.append(" act").append(std::to_string(static_cast<int>(k.activation)));
  return key;
}

// A chosen algorithm as a tactic value: its opaque bytes in hex, then the workspace it needs.
std::string TacticValue(const Chosen& c) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string value;
  const auto* bytes = reinterpret_cast<const unsigned char*>(&c.algo);
  for (size_t i = 0; i < sizeof(c.algo); ++i) {
    value += kHex[bytes[i] >> 4];
    value += kHex[bytes[i] & 15];
  }
  return value + " " + std::to_string(c.workspace);
}

// A tactic value read back, if cuBLASLt still accepts its algorithm for problem `p` within the
// workspace it names (values come from files, which are checked, not trusted).
std::optional<Chosen> Usable(cublasLtHandle_t handle, const LtProblem& p, const std::string& value) {
  Chosen c{};
  const size_t hex = 2 * sizeof(c.algo);
  if (value.size() < hex + 2 || value[hex] != ' ') return std::nullopt;
  auto* bytes = reinterpret_cast<unsigned char*>(&c.algo);
  for (size_t i = 0; i < sizeof(c.algo); ++i) {
    const std::string digits = value.substr(2 * i, 2);
    if (digits.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
    bytes[i] = static_cast<unsigned char>(std::stoul(digits, nullptr, 16));
  }
  const std::string workspace = value.substr(hex + 1);
  if (workspace.empty() || workspace.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  c.workspace = std::stoull(workspace);
  if (c.workspace > kWorkspaceBytes) return std::nullopt;
  cublasLtMatmulHeuristicResult_t check{};
  if (cublasLtMatmulAlgoCheck(handle, p.desc, p.a, p.b, p.c, p.c, &c.algo, &check) != CUBLAS_STATUS_SUCCESS ||
      check.workspaceSize > c.workspace) {
    return std::nullopt;
  }
  return c;
}

// Sets the batch count and per-matrix stride (elements) of a layout, for batches of products.
Status SetBatch(cublasLtMatrixLayout_t layout, int64_t batch, int64_t stride) {
  const int32_t count = static_cast<int32_t>(batch);
  KILN_CUBLAS_RETURN_IF_ERROR(
      cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)));
  KILN_CUBLAS_RETURN_IF_ERROR(
      cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)));
  return OkStatus();
}

// cuBLASLt's epilogue for an activation, with or without a bias.
cublasLtEpilogue_t EpilogueFor(GemmActivation activation, bool bias) {
  switch (activation) {
    case GemmActivation::kRelu: return bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
    case GemmActivation::kGeluTanh: return bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
    case GemmActivation::kNone: break;
  }
  return bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
}

// The descriptors of out = act(x . y (+ bias)), row-major, as cuBLASLt's column-major product
// out^T [n, m] = y^T . x^T: y is cuBLAS's A. The bias pointer is set per call.
StatusOr<std::unique_ptr<LtProblem>> Describe(const GemmShape& g, cudaDataType_t type, bool tf32, bool bias,
                                              GemmActivation activation) {
  const uint64_t m = g.n, n = g.m, k = g.k;
  const cublasOperation_t op_a = g.adj_y ? CUBLAS_OP_T : CUBLAS_OP_N, op_b = g.adj_x ? CUBLAS_OP_T : CUBLAS_OP_N;
  auto p = std::make_unique<LtProblem>();
  const cublasComputeType_t compute =
      type == CUDA_R_32F && tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulDescCreate(&p->desc, compute, CUDA_R_32F));
  KILN_CUBLAS_RETURN_IF_ERROR(
      cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof(op_a)));
  KILN_CUBLAS_RETURN_IF_ERROR(
      cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof(op_b)));
  const cublasLtEpilogue_t epilogue = EpilogueFor(activation, bias);
  KILN_CUBLAS_RETURN_IF_ERROR(
      cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)));
  KILN_CUBLAS_RETURN_IF_ERROR(g.adj_y ? cublasLtMatrixLayoutCreate(&p->a, type, k, m, k)
                                      : cublasLtMatrixLayoutCreate(&p->a, type, m, k, m));
  KILN_CUBLAS_RETURN_IF_ERROR(g.adj_x ? cublasLtMatrixLayoutCreate(&p->b, type, n, k, n)
                                      : cublasLtMatrixLayoutCreate(&p->b, type, k, n, k));
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatrixLayoutCreate(&p->c, type, m, n, m));
  if (g.batch > 1) {
    KILN_RETURN_IF_ERROR(SetBatch(p->a, g.batch, g.stride_y));
    KILN_RETURN_IF_ERROR(SetBatch(p->b, g.batch, g.stride_x));
    KILN_RETURN_IF_ERROR(SetBatch(p->c, g.batch, g.m * g.n));
  }
  return p;
}

// The descriptors of acc [m, n] = x [m, k] . w [n, k]^T in int8 (int32 accumulator) or FP8 E4M3
// (float32 accumulator), row-major, as cuBLASLt's column-major acc^T = w . x^T with w transposed:
// the "TN" form its int8 and FP8 kernels take.
StatusOr<std::unique_ptr<LtProblem>> DescribeQuantized(DType dtype, int64_t m, int64_t n, int64_t k) {
  const bool int8 = dtype == DType::kInt8;
  const cudaDataType_t in = int8 ? CUDA_R_8I : CUDA_R_8F_E4M3, acc = int8 ? CUDA_R_32I : CUDA_R_32F;
  auto p = std::make_unique<LtProblem>();
  KILN_CUBLAS_RETURN_IF_ERROR(
      cublasLtMatmulDescCreate(&p->desc, int8 ? CUBLAS_COMPUTE_32I : CUBLAS_COMPUTE_32F, acc));
  const cublasOperation_t op_a = CUBLAS_OP_T, op_b = CUBLAS_OP_N;
  KILN_CUBLAS_RETURN_IF_ERROR(
      cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof(op_a)));
  KILN_CUBLAS_RETURN_IF_ERROR(
      cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof(op_b)));
  if (!int8) {  // FP8 sums promoted to float32 as they go, not kept in the tensor cores' narrower accumulator
    const int8_t fast_accumulation = 0;
    KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_FAST_ACCUM,
                                                               &fast_accumulation, sizeof(fast_accumulation)));
  }
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatrixLayoutCreate(&p->a, in, k, n, k));
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatrixLayoutCreate(&p->b, in, k, m, k));
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatrixLayoutCreate(&p->c, acc, n, m, n));
  return p;
}

}  // namespace

Status QuantizedGemm(StreamContext& ctx, DType dtype, int64_t m, int64_t n, int64_t k, const void* x, const void* w,
                     void* acc) {
  if (dtype != DType::kInt8 && dtype != DType::kFloat8E4M3FN) {
    return InvalidArgument("quantized products take int8 or float8_e4m3fn, not " + std::string(DTypeName(dtype)));
  }
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  if (m > kMax || n > kMax || k > kMax) {
    return InvalidArgument("quantized product of [" + std::to_string(m) + "x" + std::to_string(k) + "] by [" +
                           std::to_string(k) + "x" + std::to_string(n) + "] is too large for cuBLAS");
  }
  const int device = ctx.device().index;
  KILN_ASSIGN_OR_RETURN(cublasLtHandle_t handle, LtHandle(device));
  const uint32_t align[4] = {AlignmentOf(w), AlignmentOf(x), AlignmentOf(acc), AlignmentOf(acc)};
  const AlgoKey key{.device = device,
                    .type = dtype == DType::kInt8 ? CUDA_R_8I : CUDA_R_8F_E4M3,
                    .m = m,
                    .n = n,
                    .k = k,
                    .batch = 1,
                    .stride_x = 0,
                    .stride_y = 0,
                    .adj_x = false,
                    .adj_y = true,
                    .bias = false,
                    .residual = false,
                    .tf32 = false,
                    .align = {align[0], align[1], align[2], align[3]},
                    .activation = GemmActivation::kNone};
  struct Prepared {
    std::unique_ptr<LtProblem> problem;  // null: cuBLASLt has no algorithm for it
    Chosen chosen{};
  };
  thread_local std::map<AlgoKey, Prepared> prepared;
  auto refused = [&] {
    std::string message = "cuBLASLt has no ";
    message.append(DTypeName(dtype)).append(" algorithm for [").append(std::to_string(m)).append("x");
    message.append(std::to_string(k)).append("] by [").append(std::to_string(k)).append("x");
    return Unimplemented(message.append(std::to_string(n)).append("]"));
  };
  auto it = prepared.find(key);
  if (it != prepared.end() && it->second.problem == nullptr) return refused();  // asked before
  if (it == prepared.end()) {
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<LtProblem> problem, DescribeQuantized(dtype, m, n, k));
    cublasLtMatmulPreference_t pref = nullptr;
    KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulPreferenceCreate(&pref));
    const uint64_t workspace_bytes = kWorkspaceBytes;
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes,
                                         sizeof(workspace_bytes));
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(handle, problem->desc, problem->a, problem->b,
                                                                 problem->c, problem->c, pref, 1, &result, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    if (status != CUBLAS_STATUS_NOT_SUPPORTED) KILN_CUBLAS_RETURN_IF_ERROR(status);
    if (status == CUBLAS_STATUS_NOT_SUPPORTED || found == 0) {
      prepared.emplace(key, Prepared{});
      return refused();
    }
    it = prepared.emplace(key, Prepared{std::move(problem), Chosen{result.algo, result.workspaceSize}}).first;
  }
  const LtProblem& p = *it->second.problem;
  const Chosen& chosen = it->second.chosen;
  std::shared_ptr<Buffer> workspace;
  if (chosen.workspace > 0) {
    KILN_ASSIGN_OR_RETURN(workspace, ctx.Scratch(chosen.workspace));
  }
  // The scale type is the accumulator's: int32 for int8, float32 for FP8.
  const int32_t one_i = 1, zero_i = 0;
  const float one_f = 1.0f, zero_f = 0.0f;
  const bool int8 = dtype == DType::kInt8;
  const void* alpha = int8 ? static_cast<const void*>(&one_i) : &one_f;
  const void* beta = int8 ? static_cast<const void*>(&zero_i) : &zero_f;
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmul(handle, p.desc, alpha, w, p.a, x, p.b, beta, acc, p.c, acc, p.c,
                                             &chosen.algo, workspace ? workspace->data() : nullptr, chosen.workspace,
                                             ctx.stream()));
  return OkStatus();
}

Status GemmWithAddends(StreamContext& ctx, DType dtype, const GemmShape& g, const void* x, const void* y,
                       void* out, const GemmAddends& add) {
  const cudaDataType_t type = dtype == DType::kFloat16    ? CUDA_R_16F
                              : dtype == DType::kBFloat16 ? CUDA_R_16BF
                                                          : CUDA_R_32F;
  if (type == CUDA_R_32F && dtype != DType::kFloat32) {
    return Unimplemented("cuBLASLt products with addends take float32, float16 or bfloat16, not " +
                         std::string(DTypeName(dtype)));
  }
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  if (g.m > kMax || g.n > kMax || g.k > kMax || g.batch > kMax) {
    return InvalidArgument("matrix product of [" + std::to_string(g.m) + "x" + std::to_string(g.k) + "] by [" +
                           std::to_string(g.k) + "x" + std::to_string(g.n) + "] is too large for cuBLAS");
  }
  const int device = ctx.device().index;
  KILN_ASSIGN_OR_RETURN(cublasLtHandle_t handle, LtHandle(device));
  const void* c = add.residual ? add.residual : out;
  const uint32_t align[4] = {AlignmentOf(y), AlignmentOf(x), AlignmentOf(c), AlignmentOf(out)};
  const AlgoKey key{.device = device,
                    .type = type,
                    .m = g.m,
                    .n = g.n,
                    .k = g.k,
                    .batch = g.batch,
                    .stride_x = g.stride_x,
                    .stride_y = g.stride_y,
                    .adj_x = g.adj_x,
                    .adj_y = g.adj_y,
                    .bias = add.bias != nullptr,
                    .residual = add.residual != nullptr,
                    .tf32 = ctx.allow_tf32(),
                    .align = {align[0], align[1], align[2], align[3]},
                    .activation = add.activation};
  // Descriptors are built once per problem and thread (each call sets its own bias pointer on
  // them); the algorithm is chosen once per problem and GPU model (runtime/tactics.h).
  struct Prepared {
    std::unique_ptr<LtProblem> problem;
    std::optional<Chosen> chosen;
  };
  thread_local std::map<AlgoKey, Prepared> prepared;
  Prepared& mine = prepared[key];
  if (mine.problem == nullptr) {
    auto described = Describe(g, type, ctx.allow_tf32(), add.bias != nullptr, add.activation);
    if (!described.ok()) {
      prepared.erase(key);
      return described.status();
    }
    mine.problem = std::move(described).value();
  }
  const LtProblem& p = *mine.problem;
  if (add.bias) {
    KILN_CUBLAS_RETURN_IF_ERROR(
        cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &add.bias, sizeof(add.bias)));
  }
  const float alpha = 1.0f, beta = add.residual ? 1.0f : 0.0f;
  if (!mine.chosen) {
    const std::string tactic = TacticKey(key);
    std::optional<Chosen> known;
    if (auto value = runtime::FindTactic(device, tactic)) known = Usable(handle, p, *value);
    if (!known) {
      KILN_ASSIGN_OR_RETURN(std::shared_ptr<Buffer> tuning, ctx.Scratch(kWorkspaceBytes));
      KILN_ASSIGN_OR_RETURN(known, ChooseAlgo(handle, p, ctx.stream(), align, y, x, c, out, &beta, tuning->data()));
      runtime::RecordTactic(device, tactic, TacticValue(*known));
    }
    mine.chosen = known;
  } else if (runtime::RecordingTactics()) {
    runtime::NoteTacticUse(TacticKey(key), TacticValue(*mine.chosen));
  }
  const Chosen& chosen = *mine.chosen;
  // Most algorithms need no workspace: then none is taken from the pool.
  std::shared_ptr<Buffer> workspace;
  if (chosen.workspace > 0) {
    KILN_ASSIGN_OR_RETURN(workspace, ctx.Scratch(chosen.workspace));
  }
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmul(handle, p.desc, &alpha, y, p.a, x, p.b, &beta, c, p.c, out, p.c,
                                             &chosen.algo, workspace ? workspace->data() : nullptr, chosen.workspace,
                                             ctx.stream()));
  return OkStatus();
}

}  // namespace kiln::cuda

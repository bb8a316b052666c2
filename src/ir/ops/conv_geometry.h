#pragma once
// Sliding-window geometry shared by the convolution and pooling shape functions and kernels:
// attribute parsing (strides, dilations, padding, data_format) and output sizes, so both agree.

#include <cstdint>
#include <string>
#include <vector>

#include "ir/attr.h"
#include "kiln/status.h"

namespace kiln::ir {

enum class Padding { kSame, kValid, kExplicit };

// One spatial dimension of a window; sizes are -1 where unknown (shape inference).
struct WindowDim {
  int64_t in = -1;
  int64_t kernel = -1;
  int64_t stride = 1;
  int64_t dilation = 1;
  int64_t pad_before = 0;
  int64_t pad_after = 0;
  int64_t out = -1;
};

// The window attributes of a conv or pool op, reduced to its spatial dims.
struct WindowSpec {
  bool channels_first = false;
  Padding padding = Padding::kValid;
  std::vector<int64_t> strides;          // per spatial dim
  std::vector<int64_t> dilations;        // per spatial dim
  std::vector<int64_t> explicit_before;  // per spatial dim (EXPLICIT only)
  std::vector<int64_t> explicit_after;
};

// "NHWC", "NDHWC", "CHANNELS_LAST" -> false; "NCHW", "NCDHW", "CHANNELS_FIRST" -> true.
StatusOr<bool> ParseChannelsFirst(const AttrMap& attrs);

// Reads strides, dilations (when present), padding and explicit_paddings for a window over
// `spatial_rank` dims of an input laid out [N, spatial..., C] (or [N, C, spatial...]); the batch
// and channel entries must be 1 (0 for explicit paddings). An empty dilations list means all 1.
StatusOr<WindowSpec> ParseWindowSpec(const AttrMap& attrs, int spatial_rank);

// Spatial entries of a full-rank list attribute laid out like the input (e.g. ksize); checks that
// the batch and channel entries are 1. `what` names the list in errors.
StatusOr<std::vector<int64_t>> SpatialEntries(const std::vector<int64_t>& full, int spatial_rank, bool channels_first,
                                              const std::string& what);

// Output size and padding of one dim. `in`/`kernel` may be -1 (then `out` is -1). VALID with a
// window larger than the input is an error, as in TensorFlow.
StatusOr<WindowDim> ComputeWindowDim(int64_t in, int64_t kernel, const WindowSpec& spec, int dim);

}  // namespace kiln::ir

#pragma once
// Layout passes for engines.

#include "ir/graph.h"

namespace kiln::passes {

// Turns the 2-D channels-first convolutions, pools, bias adds and batch norms of `graph` (ONNX
// models, TensorFlow models in NCHW) into their channels-last (NHWC) forms, which tensor-core
// convolutions run natively: each gets transposes to and from NHWC around it, then transposes are
// moved past elementwise ops and reductions and cancelled in pairs, so that what remains is a
// transpose where the graph's own layout goes in or comes out. The graph computes the same values.
// Needs inferred shapes and keeps them valid. Returns how many ops now run channels-last.
StatusOr<int> ConvertToChannelsLast(ir::Graph& graph);

// Each float32 2-D channels-last fused convolution of one group with a constant filter, fewer than
// `multiple` input channels and a reduction (window times channels) of at most 32 (an image's
// first layer with a small window) reads its input through a Pad that appends zero channels up to
// `multiple`, with its filter padded to match: cuDNN's fused convolutions take channel counts that
// are multiples of 8. The graph computes the same values. Needs inferred shapes and keeps them
// valid.
Status PadConvInputChannels(ir::Graph& graph, int64_t multiple);

}  // namespace kiln::passes

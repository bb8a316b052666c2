#include "ir/ops/conv_geometry.h"

namespace kiln::ir {

namespace {

std::string ListToString(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);
  }
  return s + "]";
}

}  // namespace

StatusOr<bool> ParseChannelsFirst(const AttrMap& attrs) {
  KILN_ASSIGN_OR_RETURN(std::string format, attrs.GetOr<std::string>("data_format", "NHWC"));
  if (format == "NHWC" || format == "NDHWC" || format == "CHANNELS_LAST" || format == "NWC") return false;
  if (format == "NCHW" || format == "NCDHW" || format == "CHANNELS_FIRST" || format == "NCW") return true;
  return InvalidArgument("unsupported data_format '" + format + "'");
}

StatusOr<std::vector<int64_t>> SpatialEntries(const std::vector<int64_t>& full, int spatial_rank, bool channels_first,
                                              const std::string& what) {
  if (static_cast<int>(full.size()) != spatial_rank + 2) {
    return InvalidArgument(what + " must have " + std::to_string(spatial_rank + 2) + " entries, got " +
                           ListToString(full));
  }
  const size_t channel = channels_first ? 1 : full.size() - 1;
  if (full[0] != 1 || full[channel] != 1) {
    return Unimplemented(what + " " + ListToString(full) + " must be 1 in the batch and channel dimensions");
  }
  std::vector<int64_t> spatial;
  for (int i = 0; i < spatial_rank; ++i) {
    const int64_t v = full[(channels_first ? 2 : 1) + i];
    if (v < 1) return InvalidArgument(what + " " + ListToString(full) + " must be positive");
    spatial.push_back(v);
  }
  return spatial;
}

StatusOr<WindowSpec> ParseWindowSpec(const AttrMap& attrs, int spatial_rank) {
  WindowSpec spec;
  KILN_ASSIGN_OR_RETURN(spec.channels_first, ParseChannelsFirst(attrs));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> strides, attrs.Get<std::vector<int64_t>>("strides"));
  KILN_ASSIGN_OR_RETURN(spec.strides, SpatialEntries(strides, spatial_rank, spec.channels_first, "strides"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dilations,
                        attrs.GetOr<std::vector<int64_t>>("dilations", std::vector<int64_t>{}));
  if (dilations.empty()) {
    spec.dilations.assign(spatial_rank, 1);
  } else {
    KILN_ASSIGN_OR_RETURN(spec.dilations, SpatialEntries(dilations, spatial_rank, spec.channels_first, "dilations"));
  }
  KILN_ASSIGN_OR_RETURN(std::string padding, attrs.Get<std::string>("padding"));
  if (padding == "SAME") {
    spec.padding = Padding::kSame;
  } else if (padding == "VALID") {
    spec.padding = Padding::kValid;
  } else if (padding == "EXPLICIT") {
    spec.padding = Padding::kExplicit;
  } else {
    return InvalidArgument("unknown padding '" + padding + "' (expected SAME, VALID or EXPLICIT)");
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> explicit_paddings,
                        attrs.GetOr<std::vector<int64_t>>("explicit_paddings", std::vector<int64_t>{}));
  if (spec.padding == Padding::kExplicit) {
    const size_t rank = static_cast<size_t>(spatial_rank) + 2;
    if (explicit_paddings.size() != 2 * rank) {
      return InvalidArgument("explicit_paddings must have " + std::to_string(2 * rank) + " entries, got " +
                             ListToString(explicit_paddings));
    }
    const size_t channel = spec.channels_first ? 1 : rank - 1;
    for (size_t d = 0; d < rank; ++d) {
      const int64_t before = explicit_paddings[2 * d], after = explicit_paddings[2 * d + 1];
      if (before < 0 || after < 0) {
        return InvalidArgument("explicit_paddings " + ListToString(explicit_paddings) + " must be non-negative");
      }
      if (d == 0 || d == channel) {
        if (before != 0 || after != 0) {
          return Unimplemented("explicit_paddings " + ListToString(explicit_paddings) +
                               " must be 0 in the batch and channel dimensions");
        }
        continue;
      }
      spec.explicit_before.push_back(before);
      spec.explicit_after.push_back(after);
    }
  } else if (!explicit_paddings.empty()) {
    return InvalidArgument("explicit_paddings must be empty unless padding is EXPLICIT");
  }
  return spec;
}

StatusOr<WindowDim> ComputeWindowDim(int64_t in, int64_t kernel, const WindowSpec& spec, int dim) {
  WindowDim w;
  w.in = in;
  w.kernel = kernel;
  w.stride = spec.strides[dim];
  w.dilation = spec.dilations[dim];
  if (kernel == 0 && in >= 0) return InvalidArgument("window size must be positive, got 0");
  if (spec.padding == Padding::kExplicit) {
    w.pad_before = spec.explicit_before[dim];
    w.pad_after = spec.explicit_after[dim];
  }
  if (in < 0 || kernel < 0) {
    // SAME needs only the input size.
    if (spec.padding == Padding::kSame && in >= 0) w.out = (in + w.stride - 1) / w.stride;
    return w;
  }
  const int64_t effective = (kernel - 1) * w.dilation + 1;
  switch (spec.padding) {
    case Padding::kSame: {
      w.out = (in + w.stride - 1) / w.stride;
      const int64_t total = std::max<int64_t>((w.out - 1) * w.stride + effective - in, 0);
      w.pad_before = total / 2;
      w.pad_after = total - w.pad_before;
      break;
    }
    case Padding::kValid:
    case Padding::kExplicit: {
      const int64_t padded = in + w.pad_before + w.pad_after;
      if (padded < effective) {
        return InvalidArgument("window of size " + std::to_string(effective) + " (kernel " + std::to_string(kernel) +
                               ", dilation " + std::to_string(w.dilation) + ") is larger than the " +
                               (spec.padding == Padding::kValid ? "input" : "padded input") + " size " +
                               std::to_string(padded) + " in spatial dimension " + std::to_string(dim));
      }
      w.out = (padded - effective) / w.stride + 1;
      break;
    }
  }
  return w;
}

}  // namespace kiln::ir

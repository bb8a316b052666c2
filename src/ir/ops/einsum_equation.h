#pragma once
// Einsum equations ("abc,cd->abd", "...b,bc->...c"), parsed once and shared by the shape function
// and the CPU kernel.

#include <string>
#include <vector>

#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::ir {

// Labels are the letters' character codes; the dims an ellipsis covers get labels
// kEllipsisLabelBase + k, numbered so that they align from the right across operands.
constexpr int kEllipsisLabelBase = 256;

struct EinsumEquation {
  struct Term {
    std::vector<int> labels;  // letters only
    int ellipsis_at = -1;     // index into labels where "..." sits, or -1
  };
  std::vector<Term> inputs;
  Term output;
};

// Parses "<in>[,<in>]->[<out>]" for `num_inputs` operands. Each letter may occur once per term
// (diagonals are Unimplemented); output letters must occur in some input.
StatusOr<EinsumEquation> ParseEinsumEquation(const std::string& equation, int num_inputs);

// The equation resolved against operand shapes: every dim has a label.
struct EinsumDims {
  std::vector<std::vector<int>> inputs;  // one label per input dim
  std::vector<int> output;               // one label per output dim
  // Size per label (index = label), -1 where unknown; ellipsis labels carry the broadcast size.
  std::vector<int64_t> label_size;
};

// Checks ranks and label sizes (ellipsis dims broadcast; letters must agree). Returns false in
// `*rank_known` (and no dims) when the output rank depends on an input of unknown rank.
StatusOr<EinsumDims> ResolveEinsum(const EinsumEquation& eq, const std::vector<PartialShape>& shapes, bool* rank_known);

}  // namespace kiln::ir

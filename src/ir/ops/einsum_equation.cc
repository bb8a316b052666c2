#include "ir/ops/einsum_equation.h"

#include <algorithm>
#include <cctype>

namespace kiln::ir {

namespace {

StatusOr<EinsumEquation::Term> ParseTerm(const std::string& eq, const std::string& term) {
  EinsumEquation::Term t;
  for (size_t i = 0; i < term.size(); ++i) {
    const char c = term[i];
    if (c == ' ') continue;
    if (c == '.') {
      if (term.compare(i, 3, "...") != 0 || t.ellipsis_at >= 0) {
        return InvalidArgument("einsum equation '" + eq + "' has a malformed or repeated ellipsis in '" + term + "'");
      }
      t.ellipsis_at = static_cast<int>(t.labels.size());
      i += 2;
      continue;
    }
    if (!std::isalpha(static_cast<unsigned char>(c))) {
      return InvalidArgument("einsum equation '" + eq + "' has an invalid character '" + std::string(1, c) + "'");
    }
    if (std::find(t.labels.begin(), t.labels.end(), c) != t.labels.end()) {
      return Unimplemented("einsum equation '" + eq + "' repeats label '" + std::string(1, c) + "' in '" + term +
                           "' (diagonals are not supported)");
    }
    t.labels.push_back(c);
  }
  return t;
}

}  // namespace

StatusOr<EinsumEquation> ParseEinsumEquation(const std::string& equation, int num_inputs) {
  const size_t arrow = equation.find("->");
  if (arrow == std::string::npos || equation.find("->", arrow + 2) != std::string::npos) {
    return InvalidArgument("einsum equation '" + equation + "' must contain exactly one '->'");
  }
  EinsumEquation eq;
  std::string lhs = equation.substr(0, arrow);
  size_t start = 0;
  while (true) {
    const size_t comma = lhs.find(',', start);
    KILN_ASSIGN_OR_RETURN(EinsumEquation::Term t, ParseTerm(equation, lhs.substr(start, comma - start)));
    eq.inputs.push_back(std::move(t));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (static_cast<int>(eq.inputs.size()) != num_inputs) {
    return InvalidArgument("einsum equation '" + equation + "' names " + std::to_string(eq.inputs.size()) +
                           " operands but the op has " + std::to_string(num_inputs) + " inputs");
  }
  if (num_inputs < 1 || num_inputs > 2) {
    return Unimplemented("einsum with " + std::to_string(num_inputs) + " operands is not supported (1 or 2 only)");
  }
  auto out = ParseTerm(equation, equation.substr(arrow + 2));
  if (!out.ok()) {
    if (out.status().code() == StatusCode::kUnimplemented) {
      return InvalidArgument("einsum equation '" + equation + "' repeats a label in its output");
    }
    return out.status();
  }
  eq.output = std::move(out).value();
  for (int label : eq.output.labels) {
    bool found = false;
    for (const auto& in : eq.inputs) {
      found |= std::find(in.labels.begin(), in.labels.end(), label) != in.labels.end();
    }
    if (!found) {
      return InvalidArgument("einsum equation '" + equation + "' has output label '" +
                             std::string(1, static_cast<char>(label)) + "' that no input has");
    }
  }
  return eq;
}

StatusOr<EinsumDims> ResolveEinsum(const EinsumEquation& eq, const std::vector<PartialShape>& shapes,
                                   bool* rank_known) {
  *rank_known = true;
  EinsumDims dims;
  dims.label_size.assign(kEllipsisLabelBase, -1);
  // Ellipsis dims per input, and the broadcast count.
  int ellipsis_rank = 0;
  std::vector<int> ellipsis_dims(eq.inputs.size(), 0);
  for (size_t i = 0; i < eq.inputs.size(); ++i) {
    const auto& term = eq.inputs[i];
    const PartialShape& s = shapes[i];
    const int named = static_cast<int>(term.labels.size());
    if (!s.rank_known) {
      if (term.ellipsis_at >= 0) *rank_known = false;
      continue;
    }
    if (term.ellipsis_at < 0 ? s.rank() != named : s.rank() < named) {
      return InvalidArgument("einsum input " + std::to_string(i) + " has shape " + s.ToString() + " but the equation " +
                             "gives it " + std::to_string(named) + (term.ellipsis_at < 0 ? "" : " or more") +
                             " dimensions");
    }
    ellipsis_dims[i] = s.rank() - named;
    ellipsis_rank = std::max(ellipsis_rank, ellipsis_dims[i]);
  }
  if (!*rank_known) return dims;
  if (ellipsis_rank > 0 && eq.output.ellipsis_at < 0) {
    return InvalidArgument("einsum output has " + std::to_string(ellipsis_rank) +
                           " broadcast dimension(s) but no ellipsis (...) in its subscripts");
  }
  dims.label_size.resize(kEllipsisLabelBase + ellipsis_rank, 1);
  auto expand = [&](const EinsumEquation::Term& term, int n_ellipsis) {
    std::vector<int> labels;
    for (int j = 0; j <= static_cast<int>(term.labels.size()); ++j) {
      if (j == term.ellipsis_at) {
        for (int k = ellipsis_rank - n_ellipsis; k < ellipsis_rank; ++k) labels.push_back(kEllipsisLabelBase + k);
      }
      if (j < static_cast<int>(term.labels.size())) labels.push_back(term.labels[j]);
    }
    return labels;
  };
  for (size_t i = 0; i < eq.inputs.size(); ++i) {
    dims.inputs.push_back(expand(eq.inputs[i], ellipsis_dims[i]));
    if (!shapes[i].rank_known) continue;
    for (size_t d = 0; d < dims.inputs[i].size(); ++d) {
      const int label = dims.inputs[i][d];
      const int64_t size = shapes[i].dims[d];
      int64_t& known = dims.label_size[label];
      if (label >= kEllipsisLabelBase) {
        // Broadcast: 1 yields to anything; unknown stays unknown unless the other side is > 1.
        if (size == 1) continue;
        if (known == 1 || known == -1) {
          known = size;
        } else if (size >= 0 && size != known) {
          return InvalidArgument("einsum inputs have ellipsis dimensions " + std::to_string(known) + " and " +
                                 std::to_string(size) + " that do not broadcast");
        }
        continue;
      }
      if (size < 0) continue;
      if (known >= 0 && known != size) {
        return InvalidArgument("einsum label '" + std::string(1, static_cast<char>(label)) + "' has size " +
                               std::to_string(known) + " in one place and " + std::to_string(size) + " in input " +
                               std::to_string(i) + " (shape " + shapes[i].ToString() + ")");
      }
      known = size;
    }
  }
  dims.output = expand(eq.output, ellipsis_rank);
  return dims;
}

}  // namespace kiln::ir

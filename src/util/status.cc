#include "kiln/status.h"

namespace kiln {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kUnimplemented: return "Unimplemented";
    case StatusCode::kDataLoss: return "DataLoss";
    case StatusCode::kFailedPrecondition: return "FailedPrecondition";
    case StatusCode::kOutOfRange: return "OutOfRange";
    case StatusCode::kInternal: return "Internal";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kResourceExhausted: return "ResourceExhausted";
  }
  return "Unknown";
}

Status& Status::AtNode(std::string node, std::string op) {
  if (node_.empty()) {
    node_ = std::move(node);
    op_ = std::move(op);
  }
  return *this;
}

Status& Status::InFile(std::string file) {
  if (file_.empty()) file_ = std::move(file);
  return *this;
}

Status& Status::Prepend(const std::string& context) {
  message_ = context + ": " + message_;
  return *this;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s = std::string(StatusCodeName(code_)) + ": " + message_;
  if (!node_.empty()) {
    s += " (at node '" + node_ + "'";
    if (!op_.empty()) s += " (" + op_ + ")";
    s += ")";
  }
  if (!file_.empty()) s += " (in file '" + file_ + "')";
  return s;
}

}  // namespace kiln

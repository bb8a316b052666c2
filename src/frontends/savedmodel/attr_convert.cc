#include "frontends/savedmodel/attr_convert.h"

#include "frontends/savedmodel/tensor_proto.h"

namespace kiln::savedmodel {

StatusOr<ir::AttrValue> ConvertAttr(const tfproto::AttrValue& value) {
  using V = tfproto::AttrValue;
  switch (value.value_case()) {
    case V::kS: return ir::AttrValue(value.s());
    case V::kI: return ir::AttrValue(static_cast<int64_t>(value.i()));
    case V::kF: return ir::AttrValue(value.f());
    case V::kB: return ir::AttrValue(value.b());
    case V::kType: {
      KILN_ASSIGN_OR_RETURN(DType d, DTypeFromProto(value.type()));
      return ir::AttrValue(d);
    }
    case V::kShape: {
      KILN_ASSIGN_OR_RETURN(PartialShape s, ShapeFromProto(value.shape()));
      return ir::AttrValue(std::move(s));
    }
    case V::kTensor: {
      KILN_ASSIGN_OR_RETURN(Tensor t, TensorFromProto(value.tensor()));
      return ir::AttrValue(std::move(t));
    }
    case V::kFunc: return ir::AttrValue(ir::FuncRef{value.func().name()});
    case V::kPlaceholder:
      return Unimplemented("attribute refers to function attribute '" + value.placeholder() + "'");
    case V::kList: {
      const auto& l = value.list();
      if (l.s_size()) return ir::AttrValue(std::vector<std::string>(l.s().begin(), l.s().end()));
      if (l.i_size()) return ir::AttrValue(std::vector<int64_t>(l.i().begin(), l.i().end()));
      if (l.f_size()) return ir::AttrValue(std::vector<float>(l.f().begin(), l.f().end()));
      if (l.b_size()) return ir::AttrValue(std::vector<bool>(l.b().begin(), l.b().end()));
      if (l.type_size()) {
        std::vector<DType> types;
        for (int t : l.type()) {
          KILN_ASSIGN_OR_RETURN(DType d, DTypeFromProto(t));
          types.push_back(d);
        }
        return ir::AttrValue(std::move(types));
      }
      if (l.shape_size()) {
        std::vector<PartialShape> shapes;
        for (const auto& s : l.shape()) {
          KILN_ASSIGN_OR_RETURN(PartialShape p, ShapeFromProto(s));
          shapes.push_back(std::move(p));
        }
        return ir::AttrValue(std::move(shapes));
      }
      if (l.func_size()) {
        std::vector<ir::FuncRef> funcs;
        for (const auto& f : l.func()) funcs.push_back(ir::FuncRef{f.name()});
        return ir::AttrValue(std::move(funcs));
      }
      if (l.tensor_size()) return Unimplemented("lists of tensors are not supported");
      return ir::AttrValue(std::vector<int64_t>{});  // an empty list of any type
    }
    case V::VALUE_NOT_SET: return ir::AttrValue(std::vector<int64_t>{});
  }
  return InvalidArgument("unknown attribute kind");
}

StatusOr<ir::AttrMap> ConvertNodeAttrs(const tfproto::NodeDef& node) {
  ir::AttrMap attrs;
  for (const auto& [name, value] : node.attr()) {
    if (!name.empty() && name[0] == '_') continue;
    auto converted = ConvertAttr(value);
    if (!converted.ok()) {
      Status s = converted.status();
      return s.Prepend("attribute '" + name + "'").AtNode(node.name(), node.op());
    }
    attrs.Set(name, std::move(converted).value());
  }
  return attrs;
}

}  // namespace kiln::savedmodel

#include "proto_mutator.h"

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

namespace kiln::fuzz {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// One place an edit can land: a field of a message, and for a repeated field one element (-1 for
// a singular field).
struct Site {
  Message* message;
  const FieldDescriptor* field;
  int index;
};

constexpr size_t kMaxSites = 1 << 16;
constexpr size_t kMaxStrings = 1 << 12;

// Every field of `message` and its sub-messages, set or not, and the strings they hold.
void CollectSites(Message& message, std::vector<Site>& sites, std::vector<std::string>& strings, int depth) {
  if (depth > 32) return;
  const Reflection* r = message.GetReflection();
  const auto* d = message.GetDescriptor();
  for (int f = 0; f < d->field_count() && sites.size() < kMaxSites; ++f) {
    const FieldDescriptor* field = d->field(f);
    if (!field->is_repeated()) {
      sites.push_back({&message, field, -1});
      if (!r->HasField(message, field)) continue;
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        CollectSites(*r->MutableMessage(&message, field), sites, strings, depth + 1);
      } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING && strings.size() < kMaxStrings) {
        strings.push_back(r->GetString(message, field));
      }
      continue;
    }
    const int n = r->FieldSize(message, field);
    if (n == 0) sites.push_back({&message, field, -1});  // a place to add an element
    for (int i = 0; i < n && sites.size() < kMaxSites; ++i) {
      sites.push_back({&message, field, i});
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        CollectSites(*r->MutableRepeatedMessage(&message, field, i), sites, strings, depth + 1);
      } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING && strings.size() < kMaxStrings) {
        strings.push_back(r->GetRepeatedString(message, field, i));
      }
    }
  }
}

template <typename T>
T Pick(std::minstd_rand& rng, std::initializer_list<T> values) {
  return *(values.begin() + rng() % values.size());
}

// Arithmetic on edge values wraps around, as the bits of a field would: it is done in the unsigned
// type of the same width (signed overflow would be undefined, and the sanitizers stop on it).
template <typename T>
T EdgeInteger(T value, std::minstd_rand& rng) {
  using L = std::numeric_limits<T>;
  using U = std::make_unsigned_t<T>;
  const U bits = static_cast<U>(value);
  switch (rng() % 8) {
    case 0:
      return Pick<T>(rng, {0, 1, 2, 3, 4, 7, 8, 16, 64, 255, 256});
    case 1:
      return Pick<T>(rng, {L::max(), L::min(), static_cast<T>(L::max() / 2), static_cast<T>(-1)});
    case 2:
      return static_cast<T>(static_cast<U>(bits + 1u));
    case 3:
      return static_cast<T>(static_cast<U>(bits - 1u));
    case 4:
      return static_cast<T>(static_cast<U>(bits * 2u));
    case 5:
      return static_cast<T>(static_cast<U>(U{0} - bits));
    case 6:
      return static_cast<T>(static_cast<uint64_t>(1) << (rng() % (8 * sizeof(T))));
    default:
      return static_cast<T>(rng());
  }
}

template <typename T>
T EdgeFloat(T value, std::minstd_rand& rng) {
  using L = std::numeric_limits<T>;
  switch (rng() % 4) {
    case 0:
      return Pick<T>(rng, {0, -0.0, 1, -1, 0.5, 1e-30, 1e30, L::max(), L::lowest(), L::min()});
    case 1:
      return Pick<T>(rng, {L::quiet_NaN(), L::infinity(), -L::infinity(), L::denorm_min()});
    case 2:
      return value * Pick<T>(rng, {-1, 2, 0.5, 1000});
    default:
      return static_cast<T>(static_cast<int32_t>(rng())) / 65536;
  }
}

// A new value for a string: another string of the message, or this one cut, changed or extended by
// printable characters (a string field that is not valid UTF-8 would fail to parse as a whole).
std::string EditString(std::string value, const std::vector<std::string>& strings, std::minstd_rand& rng) {
  const auto printable = [&rng] { return static_cast<char>(' ' + rng() % 95); };
  switch (rng() % 6) {
    case 0:
    case 1:
      if (!strings.empty()) return strings[rng() % strings.size()];
      return value;
    case 2:
      return value.substr(0, value.empty() ? 0 : rng() % value.size());
    case 3:
      if (!value.empty()) value[rng() % value.size()] = printable();
      return value;
    case 4:
      return value + (strings.empty() ? std::string(1, printable()) : strings[rng() % strings.size()]);
    default:
      return Pick<std::string>(rng, {"", ":0", ":1", "^", "0", "-1", std::string(1, '\0'), value + value});
  }
}

// A new value for a scalar field (singular when index is -1), derived from its current one.
void EditScalar(const Site& s, const std::vector<std::string>& strings, std::minstd_rand& rng) {
  Message& m = *s.message;
  const Reflection* r = m.GetReflection();
  const bool rep = s.index >= 0;
  const int i = s.index;
  switch (s.field->cpp_type()) {
#define KILN_EDIT(CPPTYPE, Name, edit)                                             \
  case FieldDescriptor::CPPTYPE: {                                                 \
    auto v = rep ? r->GetRepeated##Name(m, s.field, i) : r->Get##Name(m, s.field); \
    v = edit(v, rng);                                                              \
    rep ? r->SetRepeated##Name(&m, s.field, i, v) : r->Set##Name(&m, s.field, v);  \
    return;                                                                        \
  }
    KILN_EDIT(CPPTYPE_INT32, Int32, EdgeInteger)
    KILN_EDIT(CPPTYPE_INT64, Int64, EdgeInteger)
    KILN_EDIT(CPPTYPE_UINT32, UInt32, EdgeInteger)
    KILN_EDIT(CPPTYPE_UINT64, UInt64, EdgeInteger)
    KILN_EDIT(CPPTYPE_FLOAT, Float, EdgeFloat)
    KILN_EDIT(CPPTYPE_DOUBLE, Double, EdgeFloat)
#undef KILN_EDIT
    case FieldDescriptor::CPPTYPE_BOOL:
      rep ? r->SetRepeatedBool(&m, s.field, i, !r->GetRepeatedBool(m, s.field, i))
          : r->SetBool(&m, s.field, !r->GetBool(m, s.field));
      return;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* e = s.field->enum_type();
      const int v = rng() % 4 == 0 ? static_cast<int>(rng() % 64)
                                   : e->value(static_cast<int>(rng() % e->value_count()))->number();
      if (e->FindValueByNumber(v) == nullptr && !r->SupportsUnknownEnumValues()) return;
      rep ? r->SetRepeatedEnumValue(&m, s.field, i, v) : r->SetEnumValue(&m, s.field, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string v = rep ? r->GetRepeatedString(m, s.field, i) : r->GetString(m, s.field);
      v = EditString(std::move(v), strings, rng);
      rep ? r->SetRepeatedString(&m, s.field, i, v) : r->SetString(&m, s.field, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return;
  }
}

// Removes, duplicates or moves element `index` of a repeated field.
void EditRepeated(const Site& s, std::minstd_rand& rng) {
  Message& m = *s.message;
  const Reflection* r = m.GetReflection();
  const int n = r->FieldSize(m, s.field);
  switch (rng() % 3) {
    case 0:  // remove: move it last, then drop the last
      for (int j = s.index; j + 1 < n; ++j) r->SwapElements(&m, s.field, j, j + 1);
      r->RemoveLast(&m, s.field);
      return;
    case 1:  // duplicate at the end
      if (s.field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        Message* copy = r->AddMessage(&m, s.field);
        copy->CopyFrom(r->GetRepeatedMessage(m, s.field, s.index));
      } else {
        switch (s.field->cpp_type()) {
#define KILN_DUP(CPPTYPE, Name)                                           \
  case FieldDescriptor::CPPTYPE:                                          \
    r->Add##Name(&m, s.field, r->GetRepeated##Name(m, s.field, s.index)); \
    return;
          KILN_DUP(CPPTYPE_INT32, Int32)
          KILN_DUP(CPPTYPE_INT64, Int64)
          KILN_DUP(CPPTYPE_UINT32, UInt32)
          KILN_DUP(CPPTYPE_UINT64, UInt64)
          KILN_DUP(CPPTYPE_FLOAT, Float)
          KILN_DUP(CPPTYPE_DOUBLE, Double)
          KILN_DUP(CPPTYPE_BOOL, Bool)
          KILN_DUP(CPPTYPE_STRING, String)
          KILN_DUP(CPPTYPE_ENUM, EnumValue)
#undef KILN_DUP
          default:
            return;
        }
      }
      return;
    default:  // move it elsewhere
      r->SwapElements(&m, s.field, s.index, static_cast<int>(rng() % n));
      return;
  }
}

// Appends an element with the type's zero value to a repeated field.
void AddZero(Message& m, const FieldDescriptor* field) {
  const Reflection* r = m.GetReflection();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      r->AddInt32(&m, field, 0);
      return;
    case FieldDescriptor::CPPTYPE_INT64:
      r->AddInt64(&m, field, 0);
      return;
    case FieldDescriptor::CPPTYPE_UINT32:
      r->AddUInt32(&m, field, 0);
      return;
    case FieldDescriptor::CPPTYPE_UINT64:
      r->AddUInt64(&m, field, 0);
      return;
    case FieldDescriptor::CPPTYPE_FLOAT:
      r->AddFloat(&m, field, 0);
      return;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      r->AddDouble(&m, field, 0);
      return;
    case FieldDescriptor::CPPTYPE_BOOL:
      r->AddBool(&m, field, false);
      return;
    case FieldDescriptor::CPPTYPE_STRING:
      r->AddString(&m, field, "");
      return;
    case FieldDescriptor::CPPTYPE_ENUM:
      r->AddEnumValue(&m, field, field->enum_type()->value(0)->number());
      return;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      r->AddMessage(&m, field);
      return;
  }
}

// Sets an unset field (a repeated one gets an element), or clears a set one.
void EditPresence(const Site& s, std::minstd_rand& rng) {
  Message& m = *s.message;
  const Reflection* r = m.GetReflection();
  const bool present = s.field->is_repeated() ? r->FieldSize(m, s.field) > 0 : r->HasField(m, s.field);
  if (present) {
    r->ClearField(&m, s.field);
  } else if (s.field->is_repeated()) {
    AddZero(m, s.field);
  } else if (s.field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    r->MutableMessage(&m, s.field);
  } else {
    EditScalar(s, {}, rng);
  }
}

}  // namespace

bool MutateMessage(Message& message, std::minstd_rand& rng) {
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    // Sites are found again for each edit: one edit may free sub-messages (a oneof member set, an
    // element removed) or move elements.
    std::vector<Site> sites;
    std::vector<std::string> strings;
    CollectSites(message, sites, strings, 0);
    if (sites.empty()) return e > 0;
    const Site& s = sites[rng() % sites.size()];
    const int choice = static_cast<int>(rng() % 8);
    const bool whole_field =
        s.index < 0 && (s.field->is_repeated() || s.field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE);
    if (s.index >= 0 && choice < 2) {
      EditRepeated(s, rng);
    } else if (choice == 2 || whole_field) {
      EditPresence(s, rng);
    } else if (s.field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      EditScalar(s, strings, rng);
    }
  }
  return true;
}

}  // namespace kiln::fuzz

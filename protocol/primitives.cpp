#include "protocol/primitives.hpp"

#include "types.pb.h"

#include <type_traits>

namespace hearth::protocol {

namespace pt = io::statefun::sdk::types;

namespace {

template <class Wrapper, class T>
typed_value make(const char* type_name, const T& v) {
  Wrapper w;
  w.set_value(v);
  return typed_value{type_name, true, w.SerializeAsString()};
}

template <class Wrapper>
result<std::decay_t<decltype(Wrapper{}.value())>> read(const typed_value& v, const char* type_name) {
  if (v.type_name != type_name)
    return error{errc::conflict, "value has type '" + v.type_name + "', expected "
                                   + type_name};
  Wrapper w;
  if (!w.ParseFromString(v.value.str()))
    return error{errc::malformed, std::string{"value is not a valid "} + type_name};
  return w.value();
}

} // namespace

typed_value make_string(const std::string& s) {
  return make<pt::StringWrapper>(string_type_name, s);
}
typed_value make_int(std::int32_t v) { return make<pt::IntWrapper>(int_type_name, v); }
typed_value make_long(std::int64_t v) { return make<pt::LongWrapper>(long_type_name, v); }
typed_value make_bool(bool v) { return make<pt::BooleanWrapper>(bool_type_name, v); }

result<std::string> as_string(const typed_value& v) {
  auto r = read<pt::StringWrapper>(v, string_type_name);
  if (!r)
    return r.err();
  return std::string{*r};
}
result<std::int32_t> as_int(const typed_value& v) {
  auto r = read<pt::IntWrapper>(v, int_type_name);
  if (!r)
    return r.err();
  return static_cast<std::int32_t>(*r);
}
result<std::int64_t> as_long(const typed_value& v) {
  auto r = read<pt::LongWrapper>(v, long_type_name);
  if (!r)
    return r.err();
  return static_cast<std::int64_t>(*r);
}
result<float> as_float(const typed_value& v) {
  auto r = read<pt::FloatWrapper>(v, float_type_name);
  if (!r)
    return r.err();
  return static_cast<float>(*r);
}
result<double> as_double(const typed_value& v) {
  auto r = read<pt::DoubleWrapper>(v, double_type_name);
  if (!r)
    return r.err();
  return static_cast<double>(*r);
}
result<bool> as_bool(const typed_value& v) {
  auto r = read<pt::BooleanWrapper>(v, bool_type_name);
  if (!r)
    return r.err();
  return static_cast<bool>(*r);
}

} // namespace hearth::protocol

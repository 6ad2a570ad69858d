// Typed, strict configs on yaml-cpp. A config struct lists its fields once, in a visit():
//
//   struct SamplerConfig {
//     std::string name = "ddim";
//     int steps = 20;
//     template <class V> void visit(V& v) {
//       v("name", name);
//       v("steps", steps, config::at_least(1));
//     }
//   };
//
// and the same list loads it (config::load, strict: unknown keys, wrong types and values out of
// range are InputErrors naming the key path, the value and what was expected) and writes it back
// (config::to_yaml, for --print-config and the resolved config saved beside every output).
#pragma once

#include "core/base/errors.h"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace diffuse::config {

// A check returns an empty string when a value is acceptable, else what was expected.
template <class T>
using Check = std::function<std::string(const T&)>;

template <class T>
Check<T> at_least(T low) {
  return [low](const T& v) {
    std::ostringstream out;
    if (!(v >= low)) out << "a value >= " << low;
    return out.str();
  };
}

template <class T>
Check<T> greater_than(T low) {
  return [low](const T& v) {
    std::ostringstream out;
    if (!(v > low)) out << "a value > " << low;
    return out.str();
  };
}

template <class T>
Check<T> in_range(T low, T high) {
  return [low, high](const T& v) {
    std::ostringstream out;
    if (!(v >= low && v <= high)) out << "a value in [" << low << ", " << high << "]";
    return out.str();
  };
}

Check<std::string> one_of(std::vector<std::string> choices);

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

// True for config structs (they have a visit member template).
template <class T, class = void>
struct is_section : std::false_type {};
template <class T>
struct is_section<T, std::void_t<decltype(&T::template visit<struct ProbeVisitor>)>>
    : std::true_type {};

// What a field's check sees: the value inside an optional.
template <class T>
struct checked_type {
  using type = T;
};
template <class T>
struct checked_type<std::optional<T>> {
  using type = T;
};

std::string describe(const YAML::Node& node);
template <class T>
std::string scalar_type_name();  // int, int64, double, bool, string: defined in config.cpp

// What a value of type T looks like in YAML, for error messages.
template <class T>
std::string type_name() {
  if constexpr (is_section<T>::value) {
    return "a mapping of keys";
  } else if constexpr (is_vector<T>::value) {
    return "a list of " + type_name<typename T::value_type>();
  } else {
    return scalar_type_name<T>();
  }
}

class Loader {
 public:
  Loader(const YAML::Node& node, std::string path);

  template <class T>
  void operator()(const char* key, T& field,
                  Check<typename checked_type<T>::type> check = nullptr) {
    known_.insert(key);
    const YAML::Node child = node_[key];
    if (!child.IsDefined()) return;  // absent: keep the default
    read(child, path_of(key), field, check);
  }

  // Throws for any key of the node that no field claimed.
  void finish() const;

 private:
  template <class T, class C>
  void read(const YAML::Node& node, const std::string& path, T& field, const C& check) {
    if constexpr (is_optional<T>::value) {
      if (node.IsNull()) {
        field.reset();
        return;
      }
      typename T::value_type value = field.value_or(typename T::value_type{});
      read(node, path, value, check);
      field = value;
    } else if constexpr (is_section<T>::value) {
      if (!node.IsMap() && !node.IsNull()) fail(path, node, "a mapping of keys");
      Loader sub(node, path);
      field.visit(sub);
      sub.finish();
    } else if constexpr (is_vector<T>::value) {
      if (!node.IsSequence()) fail(path, node, "a list of " + type_name<typename T::value_type>());
      T values;
      for (std::size_t i = 0; i < node.size(); ++i) {
        typename T::value_type value{};
        read(node[i], path + "[" + std::to_string(i) + "]", value, nullptr);
        values.push_back(value);
      }
      field = values;
      apply(check, path, node, field);
    } else {
      if (!node.IsScalar()) fail(path, node, type_name<T>());
      T value;
      try {
        value = node.as<T>();
      } catch (const YAML::Exception&) {
        fail(path, node, type_name<T>());
      }
      apply(check, path, node, value);
      field = value;
    }
  }

  template <class C, class T>
  void apply(const C& check, const std::string& path, const YAML::Node& node, const T& value) {
    if constexpr (!std::is_same_v<C, std::nullptr_t>) {
      if (!check) return;
      const std::string expected = check(value);
      if (!expected.empty()) fail(path, node, expected);
    }
  }

  [[noreturn]] static void fail(const std::string& path, const YAML::Node& node,
                                const std::string& expected);
  std::string path_of(const char* key) const;

  YAML::Node node_;
  std::string path_;
  std::set<std::string> known_;
};

class Dumper {
 public:
  explicit Dumper(YAML::Node node) : node_(node) {}

  template <class T, class C = std::nullptr_t>
  void operator()(const char* key, const T& field, const C& = nullptr) {
    if constexpr (is_optional<T>::value) {
      if (field.has_value()) (*this)(key, *field);
    } else {
      node_[key] = value_node(field);
    }
  }

  // The YAML form of one value: a mapping for a section, a sequence for a vector.
  template <class T>
  static YAML::Node value_node(const T& value) {
    if constexpr (is_section<T>::value) {
      YAML::Node child(YAML::NodeType::Map);
      Dumper sub(child);
      const_cast<T&>(value).visit(sub);
      return child;
    } else if constexpr (is_vector<T>::value) {
      YAML::Node list(YAML::NodeType::Sequence);
      for (const auto& item : value) list.push_back(value_node(item));
      return list;
    } else {
      return YAML::Node(value);
    }
  }

 private:
  YAML::Node node_;
};

// Reads a YAML file; InputError for a missing, unreadable or empty file and for syntax errors
// (with line and column).
YAML::Node read_file(const std::string& path);

// Applies one `--set key.path=value` override; the value is parsed as YAML ("[1, 2]" is a list).
void apply_override(YAML::Node& root, const std::string& assignment);

template <class T>
T load(const YAML::Node& root, const std::string& path = "") {
  T result;
  if (root.IsDefined() && !root.IsNull() && !root.IsMap())
    throw InputError("config: expected a mapping of keys at the top level, got " + describe(root));
  Loader loader(root, path);
  result.visit(loader);
  loader.finish();
  return result;
}

template <class T>
YAML::Node to_node(const T& value) {
  YAML::Node node(YAML::NodeType::Map);
  Dumper dumper(node);
  const_cast<T&>(value).visit(dumper);
  return node;
}

std::string to_yaml(const YAML::Node& node);

template <class T>
std::string to_yaml(const T& value) {
  return to_yaml(to_node(value));
}

}  // namespace diffuse::config

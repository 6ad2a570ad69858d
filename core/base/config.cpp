#include "core/base/config.h"

#include <fstream>

namespace diffuse::config {

Check<std::string> one_of(std::vector<std::string> choices) {
  return [choices](const std::string& v) {
    for (const auto& c : choices)
      if (v == c) return std::string();
    std::string list;
    for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
    return "one of: " + list;
  };
}

template <>
std::string scalar_type_name<int>() { return "an integer"; }
template <>
std::string scalar_type_name<std::int64_t>() { return "an integer"; }
template <>
std::string scalar_type_name<double>() { return "a number"; }
template <>
std::string scalar_type_name<bool>() { return "true or false"; }
template <>
std::string scalar_type_name<std::string>() { return "a string"; }

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing (null)";
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsSequence()) return "a list";
  return "a mapping";
}

Loader::Loader(const YAML::Node& node, std::string path) : node_(node), path_(std::move(path)) {}

std::string Loader::path_of(const char* key) const {
  return path_.empty() ? std::string(key) : path_ + "." + key;
}

void Loader::fail(const std::string& path, const YAML::Node& node, const std::string& expected) {
  throw InputError("config: " + path + " = " + describe(node) + ": expected " + expected);
}

void Loader::finish() const {
  if (!node_.IsMap()) return;
  for (const auto& entry : node_) {
    const std::string key = entry.first.as<std::string>();
    if (known_.count(key)) continue;
    std::string list;
    for (const auto& k : known_) list += (list.empty() ? "" : ", ") + k;
    throw InputError("config: unknown key '" + path_of(key.c_str()) + "' (known keys" +
                     (path_.empty() ? "" : " of " + path_) + ": " + list + ")");
  }
}

YAML::Node read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError("config: cannot open '" + path + "': no such file or not readable");
  std::stringstream text;
  text << in.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::ParserException& e) {
    throw InputError("config: YAML syntax error in '" + path + "' at line " +
                     std::to_string(e.mark.line + 1) + ", column " +
                     std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (root.IsNull() || !root.IsDefined())
    throw InputError("config: '" + path + "' is empty; expected a YAML mapping (see configs/)");
  if (!root.IsMap())
    throw InputError("config: '" + path + "' holds " + describe(root) +
                     "; expected a YAML mapping of keys");
  return root;
}

void apply_override(YAML::Node& root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InputError("--set '" + assignment + "': expected key.path=value");
  const std::string path = assignment.substr(0, eq);
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(eq + 1));
  } catch (const YAML::ParserException& e) {
    throw InputError("--set '" + assignment + "': the value is not valid YAML: " + e.msg);
  }
  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  YAML::Node node = root;
  std::size_t start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? dot : dot - start);
    if (key.empty()) throw InputError("--set '" + assignment + "': empty key in '" + path + "'");
    if (dot == std::string::npos) {
      node[key] = value;
      return;
    }
    YAML::Node child = node[key];
    if (!child.IsMap()) {
      node[key] = YAML::Node(YAML::NodeType::Map);
      child.reset(node[key]);
    }
    node.reset(child);  // rebind (plain assignment would overwrite the referenced node)
    start = dot + 1;
  }
}

std::string to_yaml(const YAML::Node& node) {
  YAML::Emitter out;
  out << node;
  return std::string(out.c_str()) + "\n";
}

}  // namespace diffuse::config

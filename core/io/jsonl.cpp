#include "core/io/jsonl.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "core/base/errors.h"

namespace diffuse {
namespace {

namespace fs = std::filesystem;

// True when the file exists, is not empty and its last byte is not a newline: a crash cut the
// last record short.
bool ends_mid_line(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in || in.tellg() <= 0) return false;
  in.seekg(-1, std::ios::end);
  char last = '\n';
  in.get(last);
  return last != '\n';
}

}  // namespace

JsonlWriter::JsonlWriter(const std::string& path, bool truncate) : path_(path) {
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    throw InputError("cannot open log '" + path + "': directory '" + parent.string() +
                     "' does not exist");
  }
  const bool start_new_line = !truncate && ends_mid_line(path);
  errno = 0;
  out_.open(path, std::ios::binary | (truncate ? std::ios::trunc : std::ios::app));
  if (!out_.is_open()) {
    throw InputError("cannot open log '" + path + "' for writing" +
                     (errno != 0 ? ": " + std::string(std::strerror(errno)) : std::string()));
  }
  if (start_new_line) {
    out_ << '\n';
    out_.flush();
  }
}

void JsonlWriter::write(const nlohmann::json& record) {
  if (!record.is_object()) {
    throw std::invalid_argument("JsonlWriter::write: a record must be a JSON object, got " +
                                std::string(record.type_name()));
  }
  // Invalid UTF-8 in a string (say, a file name) is replaced rather than losing the record.
  out_ << record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  out_.flush();
  if (!out_) throw RuntimeFailure("cannot write to log '" + path_ + "' (disk full?)");
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(path + ": file not found");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open for reading");
  std::vector<nlohmann::json> records;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();  // written on Windows
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(number);
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw InputError(where + ": invalid JSON (" + e.what() + ")");
    }
    if (!record.is_object()) {
      throw InputError(where + ": expected a JSON object, got " + record.type_name());
    }
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace diffuse

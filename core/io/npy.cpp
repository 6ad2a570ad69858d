#include "core/io/npy.h"

#include <array>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include "core/base/errors.h"
#include "core/io/atomic_file.h"

// Data is copied to and from disk byte for byte; .npy files here are little-endian.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.cpp assumes a little-endian host; add byte swapping before building here"
#endif

namespace diffuse {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
// Data starts at a multiple of this, as numpy >= 1.14 writes (good for memory mapping).
constexpr size_t kAlignment = 64;

struct NpyDtype {
  const char* name;  // descr without the byte-order character
  torch::ScalarType type;
  size_t item_size;
};

constexpr std::array<NpyDtype, 5> kDtypes = {{
    {"f4", torch::kFloat32, 4},
    {"f8", torch::kFloat64, 8},
    {"u1", torch::kUInt8, 1},
    {"i4", torch::kInt32, 4},
    {"i8", torch::kInt64, 8},
}};

constexpr char kSupportedDtypes[] =
    "'<f4' (float32), '<f8' (float64), '|u1' (uint8), '<i4' (int32), '<i8' (int64)";

struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// Header bytes can be anything in a damaged file; show them readably and not too long.
std::string printable(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (out.size() >= 120) return out + "...";
    out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  }
  return out;
}

// Parses the Python dict literal numpy writes, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// Key order, spacing, quote style and the trailing comma may vary.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : text_(text), path_(path) {}

  Header parse() {
    Header header;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (!consume('}')) {
      const std::string key = parse_string();
      expect(':');
      if (key == "descr") {
        check_new(seen_descr, key);
        skip_space();
        if (peek() == '[') fail("structured dtypes (a list 'descr') are not supported");
        header.descr = parse_string();
      } else if (key == "fortran_order") {
        check_new(seen_order, key);
        header.fortran_order = parse_bool();
      } else if (key == "shape") {
        check_new(seen_shape, key);
        header.shape = parse_shape();
      } else {
        fail("unknown key '" + key + "'");
      }
      if (!consume(',')) {
        expect('}');
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the closing '}'");
    if (!seen_descr) fail("missing key 'descr'");
    if (!seen_order) fail("missing key 'fortran_order'");
    if (!seen_shape) fail("missing key 'shape'");
    return header;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(path_ + ": malformed npy header (" + what + "): " + printable(text_));
  }

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  bool consume(char c) {
    skip_space();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }

  void expect(char c) {
    if (!consume(c)) fail(std::string("expected '") + c + "'");
  }

  void check_new(bool& seen, const std::string& key) {
    if (seen) fail("duplicate key '" + key + "'");
    seen = true;
  }

  std::string parse_string() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string value = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return value;
  }

  bool parse_bool() {
    skip_space();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (text_.compare(pos_, std::strlen(word), word) == 0) {
        pos_ += std::strlen(word);
        return value;
      }
    }
    fail("'fortran_order' must be True or False");
  }

  int64_t parse_dimension() {
    skip_space();
    if (peek() == '-') fail("negative dimension in 'shape'");
    if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("expected a dimension in 'shape'");
    int64_t value = 0;
    while (std::isdigit(static_cast<unsigned char>(peek()))) {
      const int digit = text_[pos_++] - '0';
      if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) {
        fail("dimension too large in 'shape'");
      }
      value = value * 10 + digit;
    }
    if (peek() == 'L' || peek() == 'l') ++pos_;  // Python 2 long literal, e.g. (3L, 4L)
    return value;
  }

  std::vector<int64_t> parse_shape() {
    std::vector<int64_t> shape;
    expect('(');
    while (!consume(')')) {
      shape.push_back(parse_dimension());
      if (!consume(',')) {
        expect(')');
        break;
      }
    }
    return shape;
  }

  const std::string& text_;
  const std::string& path_;
  size_t pos_ = 0;
};

const NpyDtype& find_dtype(const std::string& descr, const std::string& path) {
  auto unsupported = [&]() -> InputError {
    return InputError(path + ": unsupported dtype '" + descr + "'; supported: " + kSupportedDtypes);
  };
  if (descr.size() < 2) throw unsupported();
  const char order = descr[0];
  const std::string kind = descr.substr(1);
  for (const NpyDtype& dtype : kDtypes) {
    if (kind != dtype.name) continue;
    // One-byte types carry no byte order ('|'); wider ones must be little-endian or native.
    if (dtype.item_size == 1 && (order == '|' || order == '<' || order == '>' || order == '=')) {
      return dtype;
    }
    if (order == '<' || order == '=') return dtype;
    if (order == '>') {
      throw InputError(path + ": big-endian data ('" + descr +
                       "') is not supported; save it little-endian, e.g. arr.astype('<" + kind +
                       "')");
    }
  }
  throw unsupported();
}

uint64_t read_little_endian(const unsigned char* bytes, int count) {
  uint64_t value = 0;
  for (int i = count - 1; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

std::string format_shape_tuple(torch::IntArrayRef shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  if (shape.size() == 1) out += ",";  // (5,) is a tuple, (5) would be a number
  return out + ")";
}

// The magic, version, header length and padded header dict of a C-order array.
std::string make_header(const std::string& descr, torch::IntArrayRef shape) {
  const std::string dict = "{'descr': '" + descr +
                           "', 'fortran_order': False, 'shape': " + format_shape_tuple(shape) +
                           ", }";
  for (int version = 1; version <= 2; ++version) {
    const size_t prelude = kMagicSize + 2 + (version == 1 ? 2 : 4);
    const size_t unpadded = prelude + dict.size() + 1;  // +1 for the final '\n'
    const size_t padding = (kAlignment - unpadded % kAlignment) % kAlignment;
    const size_t header_size = dict.size() + padding + 1;
    if (version == 1 && header_size > std::numeric_limits<uint16_t>::max()) continue;
    std::string out(kMagic, kMagicSize);
    out += static_cast<char>(version);
    out += '\0';
    for (int i = 0; i < (version == 1 ? 2 : 4); ++i) {
      out += static_cast<char>((header_size >> (8 * i)) & 0xff);
    }
    return out + dict + std::string(padding, ' ') + "\n";
  }
  throw InputError("npy header too large for shape " + format_shape_tuple(shape));
}

}  // namespace

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += shape[i] == kAnyDim ? "*" : std::to_string(shape[i]);
  }
  return out + "]";
}

void save_npy(const std::string& path, const torch::Tensor& tensor) {
  require(tensor.defined(), "cannot save '" + path + "': the tensor is undefined");
  const torch::ScalarType type = tensor.scalar_type();
  const char* descr = type == torch::kFloat32   ? "<f4"
                      : type == torch::kFloat64 ? "<f8"
                      : type == torch::kInt64   ? "<i8"
                                                : nullptr;
  if (descr == nullptr)
    throw InputError("cannot save '" + path + "': dtype " + c10::toString(type) +
                     " is not supported (float32, float64 or int64)");
  const torch::Tensor data = tensor.detach().to(torch::kCPU).contiguous();
  const std::string header = make_header(descr, data.sizes());
  const auto bytes = static_cast<std::streamsize>(data.numel() * data.element_size());
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    if (bytes > 0) out.write(static_cast<const char*>(data.data_ptr()), bytes);
  });
}

torch::Tensor load_npy(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(path + ": file not found");
  if (fs::is_directory(path, ec)) throw InputError(path + ": is a directory, not an npy file");
  const uint64_t file_size = fs::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (ec || !in) throw InputError(path + ": cannot open for reading");

  // Magic, version, then a little-endian header length: 2 bytes (v1) or 4 bytes (v2, v3).
  unsigned char prelude[12] = {};
  in.read(reinterpret_cast<char*>(prelude), 8);
  if (in.gcount() < static_cast<std::streamsize>(kMagicSize) ||
      std::memcmp(prelude, kMagic, kMagicSize) != 0) {
    throw InputError(path + ": not an npy file (it does not start with the magic \\x93NUMPY)");
  }
  if (in.gcount() < 8) throw InputError(path + ": truncated npy file (no version)");
  const int major = prelude[6], minor = prelude[7];
  if (minor != 0 || major < 1 || major > 3) {
    throw InputError(path + ": unsupported npy format version " + std::to_string(major) + "." +
                     std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
  }
  const int length_size = major == 1 ? 2 : 4;
  in.read(reinterpret_cast<char*>(prelude + 8), length_size);
  if (in.gcount() < length_size) throw InputError(path + ": truncated npy header");
  const uint64_t header_size = read_little_endian(prelude + 8, length_size);
  const uint64_t data_offset = 8 + length_size + header_size;
  if (data_offset > file_size) {
    throw InputError(path + ": truncated npy header (header says " + std::to_string(header_size) +
                     " bytes, file has " + std::to_string(file_size - 8 - length_size) +
                     " after the prelude)");
  }
  std::string text(header_size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(header_size));
  if (static_cast<uint64_t>(in.gcount()) != header_size) {
    throw InputError(path + ": truncated npy header");
  }
  const Header header = HeaderParser(text, path).parse();

  const NpyDtype& dtype = find_dtype(header.descr, path);
  if (header.fortran_order) {
    throw InputError(path +
                     ": Fortran-order (column-major) arrays are not supported; save a "
                     "C-order array, e.g. np.save(path, np.ascontiguousarray(arr))");
  }
  // Sizes are checked against the file before anything is allocated.
  uint64_t expected = dtype.item_size;
  for (int64_t dim : header.shape) {
    const auto d = static_cast<uint64_t>(dim);
    if (d != 0 && expected > std::numeric_limits<uint64_t>::max() / d) {
      throw InputError(path + ": shape " + shape_string(header.shape) + " is too large");
    }
    expected *= d;
  }
  const uint64_t available = file_size - data_offset;
  if (available < expected) {
    throw InputError(path + ": truncated data: expected " + std::to_string(expected) +
                     " bytes of data, file has " + std::to_string(available));
  }
  if (available > expected) {
    throw InputError(path + ": " + std::to_string(available - expected) +
                     " extra bytes after the data (expected " + std::to_string(expected) +
                     " bytes of data for shape " + shape_string(header.shape) + ", file has " +
                     std::to_string(available) + ")");
  }

  torch::Tensor result = torch::empty(header.shape, torch::TensorOptions().dtype(dtype.type));
  if (expected > 0) {
    in.read(static_cast<char*>(result.data_ptr()), static_cast<std::streamsize>(expected));
    if (static_cast<uint64_t>(in.gcount()) != expected) {
      throw InputError(path + ": read error after " + std::to_string(in.gcount()) + " of " +
                       std::to_string(expected) + " data bytes");
    }
  }
  return result;
}

torch::Tensor load_npy(const std::string& path, int64_t expected_rank) {
  torch::Tensor result = load_npy(path);
  if (result.dim() != expected_rank) {
    throw InputError(path + ": expected a " + std::to_string(expected_rank) +
                     "-D array, got shape " + shape_string(result.sizes().vec()));
  }
  return result;
}

void require_shape(const torch::Tensor& tensor, const std::vector<int64_t>& expected,
                   const std::string& what) {
  const std::vector<int64_t> actual = tensor.sizes().vec();
  bool matches = actual.size() == expected.size();
  for (size_t i = 0; matches && i < actual.size(); ++i) {
    matches = expected[i] == kAnyDim || expected[i] == actual[i];
  }
  if (!matches) {
    throw InputError(what + ": expected shape " + shape_string(expected) + ", got " +
                     shape_string(actual));
  }
}

}  // namespace diffuse

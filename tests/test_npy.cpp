// .npy reading and writing, checked against the format spec written out by hand (and against
// numpy itself when python3 with numpy is installed).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "core/base/errors.h"
#include "core/io/npy.h"
#include "tests/temp_dir.h"

namespace diffuse {
namespace {

namespace fs = std::filesystem;

class NpyTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_.file(name); }

  // Expects load_npy(file) to throw an InputError whose message contains every one of `words`.
  static void expect_load_error(const std::string& file, const std::vector<std::string>& words) {
    try {
      load_npy(file);
      ADD_FAILURE() << "expected InputError for " << file;
    } catch (const InputError& e) {
      const std::string message = e.what();
      for (const std::string& word : words) {
        EXPECT_NE(message.find(word), std::string::npos) << "'" << word << "' not in: " << message;
      }
      EXPECT_NE(message.find(file), std::string::npos) << "file not named in: " << message;
    }
  }

  testing::TempDir dir_;
};

// A v1.0 file per the spec: magic, version, uint16 LE header length, dict, raw data.
std::string npy_v1(const std::string& dict, const std::string& data, bool pad = true) {
  std::string header = dict;
  if (pad) {
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
  }
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

template <class T>
std::string raw_bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

bool same_bytes(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  if (a.numel() == 0) return true;  // (memcmp may not be given the null pointer of no data)
  const torch::Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.numel() * ca.element_size()) == 0;
}

TEST_F(NpyTest, RoundTripIsBitExactForFloatTypesAndShapes) {
  torch::manual_seed(0);
  const std::vector<std::vector<int64_t>> shapes = {{0}, {3}, {2, 3}, {2, 3, 4}, {}, {4, 0, 2}};
  for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
    for (const auto& shape : shapes) {
      const torch::Tensor x = torch::randn(shape, torch::TensorOptions().dtype(dtype));
      const std::string file = path("x.npy");
      save_npy(file, x);
      const torch::Tensor y = load_npy(file);
      EXPECT_TRUE(same_bytes(x, y)) << "dtype " << dtype << " shape " << shape_string(shape);
      EXPECT_EQ(y.device().type(), torch::kCPU);
    }
  }
}

TEST_F(NpyTest, Int64LabelsRoundTripAndNumpyReadsTheHeader) {
  const torch::Tensor labels = torch::tensor({int64_t{0}, int64_t{9}, -(int64_t{1} << 40)}, torch::kInt64);
  save_npy(path("labels.npy"), labels);
  const torch::Tensor back = load_npy(path("labels.npy"));
  EXPECT_EQ(back.scalar_type(), torch::kInt64);
  EXPECT_TRUE(same_bytes(labels, back));
  std::ifstream in(path("labels.npy"), std::ios::binary);
  std::string head(64, '\0');
  in.read(head.data(), 64);
  EXPECT_NE(head.find("'descr': '<i8'"), std::string::npos) << head;
}

TEST_F(NpyTest, RoundTripKeepsSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  const torch::Tensor x = torch::tensor(
      {0.0f, -0.0f, inf, -inf, std::nanf(""), std::numeric_limits<float>::denorm_min(), 1e38f});
  save_npy(path("s.npy"), x);
  EXPECT_TRUE(same_bytes(x, load_npy(path("s.npy"))));
}

TEST_F(NpyTest, SavesNonContiguousTensorsInLogicalOrder) {
  const torch::Tensor x = torch::arange(6, torch::kFloat64).reshape({2, 3}).t();  // [3, 2]
  save_npy(path("t.npy"), x);
  const torch::Tensor y = load_npy(path("t.npy"));
  ASSERT_EQ(y.sizes(), torch::IntArrayRef({3, 2}));
  EXPECT_EQ(y[0][1].item<double>(), 3.0);
  EXPECT_EQ(y[2][0].item<double>(), 2.0);
}

TEST_F(NpyTest, WrittenHeaderFollowsTheSpec) {
  save_npy(path("h.npy"), torch::zeros({2, 3}, torch::kFloat32));
  const std::string bytes = testing::read_bytes(path("h.npy"));
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(bytes[6], 1);
  EXPECT_EQ(bytes[7], 0);
  const size_t header_size =
      static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  EXPECT_EQ((10 + header_size) % 64, 0u);
  EXPECT_EQ(bytes.size(), 10 + header_size + 2 * 3 * 4);
  const std::string header = bytes.substr(10, header_size);
  EXPECT_EQ(header.back(), '\n');
  EXPECT_NE(header.find("'descr': '<f4'"), std::string::npos) << header;
  EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << header;
  EXPECT_NE(header.find("'shape': (2, 3)"), std::string::npos) << header;

  save_npy(path("v.npy"), torch::zeros({5}, torch::kFloat64));
  const std::string vector_bytes = testing::read_bytes(path("v.npy"));
  EXPECT_NE(vector_bytes.find("'shape': (5,)"), std::string::npos);
  EXPECT_NE(vector_bytes.find("'descr': '<f8'"), std::string::npos);
}

TEST_F(NpyTest, ReadsHandWrittenFile) {
  const std::vector<double> values = {1.5, -2.0, 3.25, 1e300};
  dir_.write("hand.npy",
        npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", raw_bytes(values)));
  const torch::Tensor x = load_npy(path("hand.npy"));
  ASSERT_EQ(x.scalar_type(), torch::kFloat64);
  ASSERT_EQ(x.sizes(), torch::IntArrayRef({2, 2}));
  EXPECT_EQ(x[0][0].item<double>(), 1.5);
  EXPECT_EQ(x[0][1].item<double>(), -2.0);
  EXPECT_EQ(x[1][0].item<double>(), 3.25);
  EXPECT_EQ(x[1][1].item<double>(), 1e300);
}

TEST_F(NpyTest, HeaderParsingToleratesOrderQuotesSpacingAndPython2Longs) {
  const std::vector<float> three = {1.0f, 2.0f, 3.0f};
  const std::vector<std::string> dicts = {
      "{'shape': (3,), 'fortran_order': False, 'descr': '<f4'}",
      "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(3,)}",
      "{ 'descr' : '<f4' ,\n 'fortran_order' : False , 'shape' : ( 3 , ) , }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3L,), }",
  };
  for (const std::string& dict : dicts) {
    dir_.write("p.npy", npy_v1(dict, raw_bytes(three)));
    const torch::Tensor x = load_npy(path("p.npy"));
    EXPECT_EQ(x.sizes(), torch::IntArrayRef({3})) << dict;
    EXPECT_EQ(x[2].item<float>(), 3.0f) << dict;
  }
  // No padding at all is still a valid header.
  dir_.write("u.npy", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}",
                              raw_bytes(three), /*pad=*/false));
  EXPECT_EQ(load_npy(path("u.npy")).size(0), 3);
}

TEST_F(NpyTest, ReadsScalarShape) {
  dir_.write("scalar.npy", npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
                                   raw_bytes(std::vector<double>{-7.5})));
  const torch::Tensor x = load_npy(path("scalar.npy"));
  EXPECT_EQ(x.dim(), 0);
  EXPECT_EQ(x.item<double>(), -7.5);
}

TEST_F(NpyTest, ReadsVersion2Header) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  while ((12 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += '\x02';
  bytes += '\x00';
  for (int i = 0; i < 4; ++i) bytes += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  bytes += header + raw_bytes(std::vector<float>{0.25f, -4.0f});
  dir_.write("v2.npy", bytes);
  const torch::Tensor x = load_npy(path("v2.npy"));
  ASSERT_EQ(x.numel(), 2);
  EXPECT_EQ(x[1].item<float>(), -4.0f);
}

TEST_F(NpyTest, ReadsIntegerDtypes) {
  dir_.write("u1.npy", npy_v1("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }",
                               std::string("\x00\x7f\xff", 3)));
  const torch::Tensor u = load_npy(path("u1.npy"));
  EXPECT_EQ(u.scalar_type(), torch::kUInt8);
  EXPECT_EQ(u[2].item<int64_t>(), 255);

  dir_.write("i4.npy", npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
                               raw_bytes(std::vector<int32_t>{-3, 1 << 30})));
  const torch::Tensor i = load_npy(path("i4.npy"));
  EXPECT_EQ(i.scalar_type(), torch::kInt32);
  EXPECT_EQ(i[0].item<int64_t>(), -3);
  EXPECT_EQ(i[1].item<int64_t>(), 1 << 30);

  dir_.write("i8.npy", npy_v1("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }",
                               raw_bytes(std::vector<int64_t>{-(int64_t{1} << 40)})));
  const torch::Tensor l = load_npy(path("i8.npy"));
  EXPECT_EQ(l.scalar_type(), torch::kInt64);
  EXPECT_EQ(l[0].item<int64_t>(), -(int64_t{1} << 40));
}

TEST_F(NpyTest, MissingFile) { expect_load_error(path("absent.npy"), {"not found"}); }

TEST_F(NpyTest, BadMagic) {
  std::string bytes = npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                             raw_bytes(std::vector<float>{1.0f}));
  bytes[1] = 'X';
  dir_.write("magic.npy", bytes);
  expect_load_error(path("magic.npy"), {"not an npy file"});
  dir_.write("empty.npy", "");
  expect_load_error(path("empty.npy"), {"not an npy file"});
  dir_.write("text.npy", "1.0, 2.0\n");
  expect_load_error(path("text.npy"), {"not an npy file"});
}

TEST_F(NpyTest, UnsupportedVersion) {
  std::string bytes = npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                             raw_bytes(std::vector<float>{1.0f}));
  bytes[6] = 9;
  dir_.write("v9.npy", bytes);
  expect_load_error(path("v9.npy"), {"version 9.0"});
}

TEST_F(NpyTest, TruncatedData) {
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
  dir_.write("short.npy", npy_v1(dict, std::string(40, '\0')));  // 48 bytes needed
  expect_load_error(path("short.npy"), {"truncated", "expected 48 bytes", "has 40"});
}

TEST_F(NpyTest, TruncatedHeader) {
  const std::string bytes = npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "");
  dir_.write("cut.npy", bytes.substr(0, 30));
  expect_load_error(path("cut.npy"), {"truncated"});
}

TEST_F(NpyTest, TrailingBytes) {
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  dir_.write("long.npy", npy_v1(dict, std::string(8 + 3, '\0')));
  expect_load_error(path("long.npy"), {"3 extra bytes"});
}

TEST_F(NpyTest, FortranOrder) {
  dir_.write("f.npy", npy_v1("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                              std::string(16, '\0')));
  expect_load_error(path("f.npy"), {"Fortran"});
}

TEST_F(NpyTest, UnsupportedDtypeListsTheSupportedOnes) {
  dir_.write("i2.npy",
        npy_v1("{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }", std::string(4, '\0')));
  expect_load_error(path("i2.npy"), {"unsupported dtype '<i2'", "'<f4'", "'<f8'"});
  dir_.write("c.npy",
        npy_v1("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0')));
  expect_load_error(path("c.npy"), {"unsupported dtype"});
}

TEST_F(NpyTest, BigEndian) {
  dir_.write("be.npy",
        npy_v1("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", std::string(4, '\0')));
  expect_load_error(path("be.npy"), {"big-endian"});
}

TEST_F(NpyTest, MalformedHeaders) {
  const std::vector<std::string> dicts = {
      "garbage \x01\x02 not a dict",
      "{'descr': '<f4', 'fortran_order': False}",                         // no shape
      "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }",        // bad bool
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",       // negative
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",  // unknown key
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } junk",   // text after
      "{'descr': '<f4, 'fortran_order': False, 'shape': (1,), }",         // broken quote
      "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
  };
  for (const std::string& dict : dicts) {
    dir_.write("bad.npy", npy_v1(dict, std::string(4, '\0')));
    SCOPED_TRACE(dict);
    expect_load_error(path("bad.npy"), {"malformed npy header"});
  }
}

TEST_F(NpyTest, SaveRejectsOtherDtypes) {
  for (auto dtype : {torch::kInt32, torch::kUInt8, torch::kFloat16, torch::kBool}) {
    try {
      save_npy(path("bad.npy"), torch::zeros({2}, torch::TensorOptions().dtype(dtype)));
      ADD_FAILURE() << "expected InputError for " << dtype;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("float32"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(save_npy(path("undef.npy"), torch::Tensor()), InputError);
  EXPECT_FALSE(fs::exists(dir_.path() / "bad.npy"));
}

TEST_F(NpyTest, SaveIntoMissingDirectoryIsAnInputError) {
  EXPECT_THROW(save_npy(path("missing/x.npy"), torch::zeros({2})), InputError);
}

TEST_F(NpyTest, ExpectedRankAndShapeChecks) {
  save_npy(path("x.npy"), torch::zeros({10, 3}));
  EXPECT_EQ(load_npy(path("x.npy"), 2).size(0), 10);
  try {
    load_npy(path("x.npy"), 1);
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("[10, 3]"), std::string::npos) << e.what();
  }
  const torch::Tensor x = load_npy(path("x.npy"));
  require_shape(x, {kAnyDim, 3}, "x.npy");
  require_shape(x, {10, 3}, "x.npy");
  try {
    require_shape(x, {kAnyDim, 2}, "x.npy");
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "x.npy: expected shape [*, 2], got [10, 3]");
  }
  EXPECT_THROW(require_shape(x, {10, 3, 1}, "x.npy"), InputError);
}

// numpy reads what we write and we read what numpy writes. Skipped without python3 + numpy.
TEST_F(NpyTest, CrossCheckWithNumpy) {
  std::string python;
  for (const char* candidate : {"/usr/bin/python3", "python3"}) {
    const std::string probe = std::string(candidate) + " -c 'import numpy' > /dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) {
      python = candidate;
      break;
    }
  }
  if (python.empty()) GTEST_SKIP() << "python3 with numpy is not installed";
  const torch::Tensor ours = torch::arange(24, torch::kFloat64).reshape({2, 3, 4}) / 8.0 - 1.0;
  save_npy(path("ours.npy"), ours);
  save_npy(path("ours32.npy"), ours.to(torch::kFloat32));
  const std::string script =
      "import numpy as np, sys\n"
      "d = sys.argv[1]\n"
      "a = np.load(d + '/ours.npy')\n"
      "assert a.dtype == np.float64 and a.shape == (2, 3, 4), (a.dtype, a.shape)\n"
      "assert (a == np.arange(24).reshape(2, 3, 4) / 8.0 - 1.0).all()\n"
      "b = np.load(d + '/ours32.npy')\n"
      "assert b.dtype == np.float32 and b.shape == (2, 3, 4)\n"
      "np.save(d + '/theirs.npy', np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3))\n"
      "np.save(d + '/theirs_scalar.npy', np.float64(2.5))\n"
      "np.save(d + '/theirs_u8.npy', np.arange(6, dtype=np.uint8))\n"
      "np.save(d + '/theirs_fortran.npy', np.asfortranarray(np.ones((2, 3))))\n";
  dir_.write("check.py", script);
  ASSERT_EQ(std::system((python + " " + path("check.py") + " " + dir_.path().string()).c_str()), 0);

  const torch::Tensor theirs = load_npy(path("theirs.npy"));
  ASSERT_EQ(theirs.scalar_type(), torch::kFloat32);
  ASSERT_EQ(theirs.sizes(), torch::IntArrayRef({5, 3}));
  EXPECT_TRUE(torch::allclose(theirs.flatten(), torch::linspace(-1, 1, 15), 0.0, 1e-6));
  EXPECT_EQ(load_npy(path("theirs_scalar.npy")).item<double>(), 2.5);
  EXPECT_EQ(load_npy(path("theirs_u8.npy"))[5].item<int64_t>(), 5);
  expect_load_error(path("theirs_fortran.npy"), {"Fortran"});
}

}  // namespace
}  // namespace diffuse

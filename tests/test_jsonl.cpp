// JSON Lines logs: whole lines, append semantics, and errors that name the line.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base/errors.h"
#include "core/io/jsonl.h"
#include "tests/temp_dir.h"

namespace diffuse {
namespace {

using nlohmann::json;

class JsonlTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_.file(name); }

  static void write(const std::string& file, const std::string& text) {
    std::ofstream(file, std::ios::binary) << text;
  }

  // Expects read_jsonl(file) to throw an InputError whose message contains `fragment`.
  static void expect_read_error(const std::string& file, const std::string& fragment) {
    try {
      read_jsonl(file);
      ADD_FAILURE() << "expected InputError for " << file;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }

  testing::TempDir dir_;
};

TEST_F(JsonlTest, WritesOneObjectPerLineAndReadsThemBack) {
  const std::string file = path("log.jsonl");
  {
    JsonlWriter log(file);
    log.write({{"step", 1}, {"loss", 0.5}});
    log.write({{"step", 2}, {"note", "two\nlines"}, {"nested", {{"a", {1, 2}}}}});
    // Flushed per line: the file is complete while the writer is still open.
    EXPECT_EQ(testing::read_bytes(file),
              "{\"loss\":0.5,\"step\":1}\n"
              "{\"nested\":{\"a\":[1,2]},\"note\":\"two\\nlines\",\"step\":2}\n");
  }
  const std::vector<json> rows = read_jsonl(file);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["step"], 1);
  EXPECT_DOUBLE_EQ(rows[0]["loss"].get<double>(), 0.5);
  EXPECT_EQ(rows[1]["note"], "two\nlines");
  EXPECT_EQ(rows[1]["nested"]["a"][1], 2);
}

TEST_F(JsonlTest, AppendsByDefaultAndTruncatesOnRequest) {
  const std::string file = path("log.jsonl");
  JsonlWriter(file).write({{"run", 1}});
  JsonlWriter(file).write({{"run", 2}});
  EXPECT_EQ(read_jsonl(file).size(), 2u);
  JsonlWriter(file, /*truncate=*/true).write({{"run", 3}});
  const std::vector<json> rows = read_jsonl(file);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["run"], 3);
}

TEST_F(JsonlTest, ReopeningAfterACutOffLineStartsAFreshLine) {
  const std::string file = path("crashed.jsonl");
  write(file, "{\"step\":1}\n{\"step\":2,\"lo");
  JsonlWriter(file).write({{"step", 3}});
  EXPECT_EQ(testing::read_bytes(file), "{\"step\":1}\n{\"step\":2,\"lo\n{\"step\":3}\n");
  expect_read_error(file, "crashed.jsonl:2");
}

TEST_F(JsonlTest, NonFiniteNumbersBecomeNull) {
  const std::string file = path("nan.jsonl");
  JsonlWriter(file).write({{"loss", std::nan("")}, {"grad", INFINITY}});
  const std::vector<json> rows = read_jsonl(file);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0]["loss"].is_null());
  EXPECT_TRUE(rows[0]["grad"].is_null());
}

TEST_F(JsonlTest, WriterRejectsNonObjects) {
  JsonlWriter log(path("log.jsonl"));
  EXPECT_THROW(log.write(json::array({1, 2})), std::invalid_argument);
  EXPECT_THROW(log.write(json(3)), std::invalid_argument);
  EXPECT_TRUE(testing::read_bytes(path("log.jsonl")).empty());
}

TEST_F(JsonlTest, WriterInMissingDirectoryIsAnInputError) {
  try {
    JsonlWriter log(path("missing/log.jsonl"));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
}

TEST_F(JsonlTest, ReaderSkipsBlankLinesAndAcceptsCrLf) {
  const std::string file = path("blank.jsonl");
  write(file, "{\"a\":1}\r\n\n   \n{\"a\":2}\n");
  const std::vector<json> rows = read_jsonl(file);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["a"], 2);
}

TEST_F(JsonlTest, ReaderNamesTheBadLine) {
  const std::string file = path("bad.jsonl");
  write(file, "{\"a\":1}\n\n{\"a\":2}\n{\"a\": oops}\n");
  expect_read_error(file, "bad.jsonl:4");
  expect_read_error(file, "invalid JSON");

  write(file, "{\"a\":1}\n[1, 2]\n");
  expect_read_error(file, "bad.jsonl:2: expected a JSON object");

  expect_read_error(path("absent.jsonl"), "not found");
}

TEST_F(JsonlTest, EmptyFileHasNoRecords) {
  write(path("empty.jsonl"), "");
  EXPECT_TRUE(read_jsonl(path("empty.jsonl")).empty());
}

}  // namespace
}  // namespace diffuse

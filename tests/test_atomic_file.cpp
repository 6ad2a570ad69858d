// write_file_atomically: content lands whole or not at all, temporaries never stay behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/base/errors.h"
#include "core/io/atomic_file.h"
#include "tests/temp_dir.h"

namespace diffuse {
namespace {

namespace fs = std::filesystem;

class AtomicFileTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_.file(name); }

  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_.path())) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

  testing::TempDir dir_;
};

TEST_F(AtomicFileTest, WritesContentThroughTheStream) {
  const std::string file = path("out.txt");
  write_file_atomically(file, [](std::ostream& out) { out << "hello " << 42; });
  EXPECT_EQ(testing::read_bytes(file), "hello 42");
  EXPECT_EQ(entries(), std::vector<std::string>{"out.txt"});
}

TEST_F(AtomicFileTest, BytesOverloadKeepsBinaryContent) {
  const std::string bytes("a\0b\xff\n\r", 6);
  const std::string file = path("bin.dat");
  write_file_atomically(file, bytes);
  EXPECT_EQ(testing::read_bytes(file), bytes);
}

TEST_F(AtomicFileTest, ReplacesAnExistingFile) {
  const std::string file = path("out.txt");
  write_file_atomically(file, std::string("a much longer first version"));
  write_file_atomically(file, std::string("short"));
  EXPECT_EQ(testing::read_bytes(file), "short");
  EXPECT_EQ(entries().size(), 1u);
}

TEST_F(AtomicFileTest, WriterThrowingLeavesOldFileAndNoTemporary) {
  const std::string file = path("keep.txt");
  write_file_atomically(file, std::string("old content"));
  EXPECT_THROW(write_file_atomically(file,
                                     [](std::ostream& out) {
                                       out << "half of the new";
                                       throw std::logic_error("writer failed");
                                     }),
               std::logic_error);
  EXPECT_EQ(testing::read_bytes(file), "old content");
  EXPECT_EQ(entries(), std::vector<std::string>{"keep.txt"});
}

TEST_F(AtomicFileTest, WriterThrowingOnNewFileLeavesNothing) {
  EXPECT_THROW(
      write_file_atomically(path("new.txt"), [](std::ostream&) { throw InputError("bad input"); }),
      InputError);
  EXPECT_TRUE(entries().empty());
}

TEST_F(AtomicFileTest, FailedStreamIsARuntimeFailure) {
  const std::string file = path("keep.txt");
  write_file_atomically(file, std::string("old"));
  EXPECT_THROW(write_file_atomically(file,
                                     [](std::ostream& out) {
                                       out << "partial";
                                       out.setstate(std::ios::badbit);  // as a full disk would
                                     }),
               RuntimeFailure);
  EXPECT_EQ(testing::read_bytes(file), "old");
  EXPECT_EQ(entries(), std::vector<std::string>{"keep.txt"});
}

TEST_F(AtomicFileTest, MissingDirectoryIsAnInputErrorNamingIt) {
  const std::string file = path("no/such/dir/out.txt");
  try {
    write_file_atomically(file, std::string("x"));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no/such/dir"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(entries().empty());
}

TEST_F(AtomicFileTest, TargetThatIsADirectoryIsAnInputError) {
  fs::create_directory(dir_.path() / "sub");
  EXPECT_THROW(write_file_atomically(path("sub"), std::string("x")), InputError);
  EXPECT_TRUE(fs::is_directory(dir_.path() / "sub"));
}

TEST_F(AtomicFileTest, UnwritableDirectoryIsAnInputError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can write into read-only directories";
  fs::create_directory(dir_.path() / "ro");
  fs::permissions(dir_.path() / "ro", fs::perms::owner_read | fs::perms::owner_exec);
  EXPECT_THROW(write_file_atomically(path("ro/out.txt"), std::string("x")), InputError);
  fs::permissions(dir_.path() / "ro", fs::perms::owner_all);
}

TEST_F(AtomicFileTest, EnsureParentDirectoryCreatesNestedFolders) {
  const std::string file = path("a/b/c/out.txt");
  ensure_parent_directory(file);
  EXPECT_TRUE(fs::is_directory(dir_.path() / "a/b/c"));
  write_file_atomically(file, std::string("deep"));
  EXPECT_EQ(testing::read_bytes(file), "deep");
  ensure_parent_directory(file);             // already there: no error
  ensure_parent_directory("bare-name.txt");  // no parent part: nothing to do
}

TEST_F(AtomicFileTest, EnsureParentDirectoryUnderAFileIsAnInputError) {
  write_file_atomically(path("plain"), std::string("x"));
  EXPECT_THROW(ensure_parent_directory(path("plain/sub/out.txt")), InputError);
}

TEST_F(AtomicFileTest, StaleTemporaryOfADeadWriterIsRemovedOnTheFirstWrite) {
  const std::string dead = std::to_string(testing::dead_pid());
  const std::vector<std::string> kept = {
      "out.txt.tmp-" + std::to_string(::getpid()) + "-7",   // this process: another thread
      "out.txt.tmp-" + std::to_string(::getppid()) + "-0",  // a live process
      "other.txt.tmp-" + dead + "-0",                       // another target's
      "out.txt.tmp-" + dead,                                // not the temporary's form
      "out.txt.tmp-0-0",                                    // pid 0 names no one process
      "out.txt.tmp-" + dead + "-x"};
  const std::string stale = "out.txt.tmp-" + dead + "-12";
  for (const auto& name : kept) std::ofstream(path(name)) << "keep";
  std::ofstream(path(stale)) << "junk";
  write_file_atomically(path("out.txt"), std::string("new"));
  EXPECT_EQ(testing::read_bytes(path("out.txt")), "new");
  EXPECT_FALSE(fs::exists(path(stale)));
  for (const auto& name : kept) EXPECT_EQ(testing::read_bytes(path(name)), "keep") << name;
  EXPECT_EQ(entries().size(), kept.size() + 1);  // out.txt, and no temporary of its own
}

TEST_F(AtomicFileTest, RemoveStaleTemporariesKeepsALiveWritersFile) {
  const std::string live = path("model.pt.tmp-" + std::to_string(::getpid()) + "-0");
  const std::string stale = path("model.pt.tmp-" + std::to_string(testing::dead_pid()) + "-1");
  std::ofstream(live) << "writing";
  std::ofstream(stale) << "junk";
  remove_stale_temporaries(path("model.pt"));
  EXPECT_EQ(testing::read_bytes(live), "writing");
  EXPECT_FALSE(fs::exists(stale));
  remove_stale_temporaries(path("missing-folder/model.pt"));  // no folder: nothing to do
}

}  // namespace
}  // namespace diffuse

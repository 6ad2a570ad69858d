// Progress: plain lines in a log or pipe (no carriage returns, no escape codes), one redrawn
// line on a terminal (a pseudo-terminal here), plain lines again under DIFFUSE_QUIET.
#include "core/base/progress.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace diffuse {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(text.substr(start, end - start));
  EXPECT_EQ(start, text.size()) << "the output does not end with a newline: " << text;
  return lines;
}

std::string contents(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string text;
  for (int c; (c = std::fgetc(file)) != EOF;) text.push_back(static_cast<char>(c));
  return text;
}

// Sets or clears DIFFUSE_QUIET for one test and puts back what was there.
class QuietVariable {
 public:
  explicit QuietVariable(bool quiet) {
    if (const char* value = std::getenv("DIFFUSE_QUIET")) saved_ = value;
    if (quiet)
      ::setenv("DIFFUSE_QUIET", "1", 1);
    else
      ::unsetenv("DIFFUSE_QUIET");
  }
  ~QuietVariable() {
    if (saved_)
      ::setenv("DIFFUSE_QUIET", saved_->c_str(), 1);
    else
      ::unsetenv("DIFFUSE_QUIET");
  }

 private:
  std::optional<std::string> saved_;
};

// A pseudo-terminal in raw mode (no "\n" -> "\r\n"), its slave end as a FILE*.
class Terminal {
 public:
  Terminal() {
    if (::openpty(&master_, &slave_, nullptr, nullptr, nullptr) != 0) return;
    termios mode{};
    ::tcgetattr(slave_, &mode);
    ::cfmakeraw(&mode);
    ::tcsetattr(slave_, TCSANOW, &mode);
    stream_ = ::fdopen(slave_, "w");
  }
  ~Terminal() {
    if (stream_) std::fclose(stream_);  // closes slave_
    else if (slave_ >= 0) ::close(slave_);
    if (master_ >= 0) ::close(master_);
  }
  std::FILE* stream() const { return stream_; }

  // Everything written so far.
  std::string drain() {
    std::fflush(stream_);
    std::string text;
    char buffer[4096];
    pollfd ready{master_, POLLIN, 0};
    while (::poll(&ready, 1, 200) > 0 && (ready.revents & POLLIN)) {
      const ssize_t n = ::read(master_, buffer, sizeof buffer);
      if (n <= 0) break;
      text.append(buffer, static_cast<std::size_t>(n));
    }
    return text;
  }

 private:
  int master_ = -1, slave_ = -1;
  std::FILE* stream_ = nullptr;
};

TEST(ProgressTest, ALogGetsPlainLinesWithLabelCountAndTotal) {
  QuietVariable quiet(false);
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  {
    Progress progress("sample", 3, "batch", log, /*log_every_seconds=*/0.0);
    EXPECT_FALSE(progress.interactive());
    for (int i = 0; i < 3; ++i) progress.advance();
    progress.set_note("loss 0.5");
    progress.finish();
    progress.finish();  // once only
  }  // nor again from the destructor
  const std::string text = contents(log);
  std::fclose(log);
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  EXPECT_EQ(text.find('\033'), std::string::npos) << text;
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 4u) << text;  // one per advance (interval 0) and the final one
  EXPECT_EQ(lines[0].rfind("sample:  33% 1/3 batch, ", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("sample:  67% 2/3 batch, ", 0), 0u) << lines[1];
  EXPECT_NE(lines[1].find(" eta "), std::string::npos) << lines[1];
  EXPECT_EQ(lines[3].rfind("sample: 100% 3/3 batch, ", 0), 0u) << lines[3];
  EXPECT_NE(lines[3].find(" took "), std::string::npos) << lines[3];
  EXPECT_NE(lines[3].find(", loss 0.5"), std::string::npos) << lines[3];
}

TEST(ProgressTest, ALogGetsOnlyTheFinalLineWithinTheLogInterval) {
  QuietVariable quiet(false);
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  {
    Progress progress("train", 1000, "step", log);  // a line every 10 s
    for (int i = 0; i < 1000; ++i) progress.advance();
  }  // the destructor finishes
  const std::string text = contents(log);
  std::fclose(log);
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 1u) << text;
  EXPECT_EQ(lines[0].rfind("train: 100% 1000/1000 step, ", 0), 0u) << lines[0];
}

TEST(ProgressTest, ATerminalGetsOneLineRedrawnInPlace) {
  QuietVariable quiet(false);
  Terminal terminal;
  ASSERT_NE(terminal.stream(), nullptr) << "openpty failed";
  std::string text;
  {
    Progress progress("sample", 3, "batch", terminal.stream());
    EXPECT_TRUE(progress.interactive());
    for (int i = 0; i < 2; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(120));  // past the 0.1 s redraw limit
      progress.advance();
    }
    progress.advance();
    progress.finish();
    text = terminal.drain();
  }
  // Every draw starts with a carriage return and an erase-line code; only the last ends the line.
  const std::string redraw = "\r\033[K";
  std::vector<std::string> draws;
  for (std::size_t at = text.find(redraw); at != std::string::npos;) {
    const std::size_t next = text.find(redraw, at + redraw.size());
    draws.push_back(text.substr(at + redraw.size(), next == std::string::npos ? next : next - at -
                                                                                     redraw.size()));
    at = next;
  }
  EXPECT_EQ(text.rfind(redraw, 0), 0u) << "output before the first redraw: " << text;
  ASSERT_GE(draws.size(), 3u) << text;  // the two timed advances and the final line
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "only the final line ends with a newline";
  for (std::size_t i = 0; i + 1 < draws.size(); ++i)
    EXPECT_EQ(draws[i].find('\n'), std::string::npos) << draws[i];
  EXPECT_EQ(draws[0].rfind("sample [", 0), 0u) << draws[0];
  EXPECT_NE(draws[0].find(" 1/3 batch"), std::string::npos) << draws[0];
  EXPECT_NE(draws[1].find(" 2/3 batch"), std::string::npos) << draws[1];
  EXPECT_NE(draws.back().find("[########################] 100% 3/3 batch"), std::string::npos)
      << draws.back();
  EXPECT_NE(draws.back().find(" took "), std::string::npos) << draws.back();
}

TEST(ProgressTest, QuietVariableMakesATerminalGetPlainLines) {
  QuietVariable quiet(true);
  Terminal terminal;
  ASSERT_NE(terminal.stream(), nullptr) << "openpty failed";
  std::string text;
  {
    Progress progress("eval", 2, "it", terminal.stream(), /*log_every_seconds=*/0.0);
    EXPECT_FALSE(progress.interactive());
    progress.advance(2);
    progress.finish();
    text = terminal.drain();
  }
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  EXPECT_EQ(text.find('\033'), std::string::npos) << text;
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 2u) << text;
  EXPECT_EQ(lines[1].rfind("eval: 100% 2/2 it, ", 0), 0u) << lines[1];
}

}  // namespace
}  // namespace diffuse

// Whole-file writes that never leave a half-written file behind: the content goes to a temporary
// file in the target's directory, is flushed and synced, then renamed over the target (rename is
// atomic within one file system). A reader sees either the old file or the new one.
//
// Usage:
//   diffuse::ensure_parent_directory("runs/a/samples.npy");        // mkdir -p runs/a
//   diffuse::write_file_atomically("runs/a/samples.npy", [&](std::ostream& out) {
//     out.write(header.data(), header.size());
//   });
//   diffuse::write_file_atomically("runs/a/grid.png", png_bytes);  // bytes already in memory
//
// Errors: a missing or unwritable directory (or a target that is a directory) is an InputError
// naming the path; a failure while writing (full disk) is a RuntimeFailure. An exception thrown by
// the writer is passed on unchanged. In every case the temporary file is removed and an existing
// file at `path` is left as it was.
//
// Stale temporary files: a writer killed mid-way (kill -9, a power cut) leaves its
// `<name>.tmp-<pid>-<n>` behind. The first write to a target in a process removes those of the
// same target whose pid names no running process (kill(pid, 0) fails with ESRCH); one of this
// process or of any live process (or one we may not signal) is kept, since it may be a concurrent
// writer's. Pids are only meaningful on one machine: writers of one folder from several machines
// (a shared network folder) must not share target names.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace diffuse {

// Writes the file at `path` through `writer`, atomically (see above).
void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& writer);

// Writes `bytes` (any binary content) to `path`, atomically.
void write_file_atomically(const std::string& path, const std::string& bytes);

// Removes the stale temporary files of `path` (see above); best effort, errors are ignored.
// write_file_atomically calls it on its first write of each target.
void remove_stale_temporaries(const std::string& path);

// Creates the directory that will hold `path`, with its parents, if missing. InputError when it
// cannot (a parent is a regular file, no permission).
void ensure_parent_directory(const std::string& path);

}  // namespace diffuse

// Node processes of a local cluster (cluster up / add / remove / down): spawning, probing and
// stopping them, and the small text files a cluster directory keeps.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace bw::server {

inline constexpr auto kStopTimeout = std::chrono::seconds(10);
inline constexpr auto kPollInterval = std::chrono::milliseconds(50);

// The file's text without trailing newlines and spaces ("" if it cannot be read).
std::string read_text_file(const std::filesystem::path& p);
// The last `lines` lines of a file.
std::string tail(const std::filesystem::path& p, size_t lines);
// Runs `exe args...` in its own session with stdout and stderr appended to `log`.
pid_t spawn(const std::string& exe, const std::vector<std::string>& args,
            const std::filesystem::path& log);
// The same for a helper command looked up in PATH (openssl), in this process's session, its
// output appended to `log` (created readable by its owner only); -1 if it cannot fork.
pid_t spawn_command(const std::string& program, const std::vector<std::string>& args,
                    const std::filesystem::path& log);
bool alive(pid_t pid);
// SIGTERM, then SIGKILL for those still running after kStopTimeout.
void stop_pids(const std::vector<pid_t>& pids);

}  // namespace bw::server

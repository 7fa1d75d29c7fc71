#include "server/local_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <thread>

namespace bw::server {

namespace fs = std::filesystem;

std::string read_text_file(const fs::path& p) {
  std::ifstream in(p);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

namespace {

// In the child: stdin from /dev/null, stdout and stderr appended to `log`, then exec.
[[noreturn]] void exec_child(const std::string& program, const std::vector<std::string>& args,
                             const fs::path& log, mode_t log_mode, bool search_path) {
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, log_mode);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
  }
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, 0);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (search_path) {
    execvp(program.c_str(), argv.data());
  } else {
    execv(program.c_str(), argv.data());
  }
  std::perror(("exec " + program).c_str());
  _exit(127);
}

}  // namespace

pid_t spawn(const std::string& exe, const std::vector<std::string>& args, const fs::path& log) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  setsid();  // its own session: a terminal's Ctrl-C reaches only `cluster up`, which stops nodes in
             // order
  exec_child(exe, args, log, 0644, false);
}

pid_t spawn_command(const std::string& program, const std::vector<std::string>& args,
                    const fs::path& log) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  exec_child(program, args, log, 0600, true);
}

bool alive(pid_t pid) {
  int status = 0;
  pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == pid) return false;  // our child, exited
  if (r == 0) return true;     // our child, running
  return kill(pid, 0) == 0;    // not our child (cluster down): probe
}

void stop_pids(const std::vector<pid_t>& pids) {
  for (pid_t p : pids) kill(p, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
  for (pid_t p : pids) {
    while (alive(p) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(kPollInterval);
    if (alive(p)) {
      std::fprintf(stderr, "node pid %d did not stop in time; killing it\n", p);
      kill(p, SIGKILL);
      waitpid(p, nullptr, 0);
    }
  }
}

std::string tail(const fs::path& p, size_t lines) {
  std::string s = read_text_file(p);
  size_t pos = s.size();
  for (size_t n = 0; n < lines && pos > 0; ++n) pos = s.rfind('\n', pos - 1);
  return pos == std::string::npos || pos == 0 ? s : s.substr(pos + 1);
}

}  // namespace bw::server

#include "server/cluster_tls.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "server/local_process.h"

namespace bw::server {

namespace {

namespace fs = std::filesystem;

fs::path tls_dir(const fs::path& dir) {
  return dir / "tls";
}

// Runs `openssl args...` with its output appended to <dir>/tls/openssl.log; waits for it.
Status run_openssl(const fs::path& dir, const std::vector<std::string>& args) {
  const fs::path log = tls_dir(dir) / "openssl.log";
  pid_t pid = spawn_command("openssl", args, log);
  if (pid < 0) return absl::InternalError("cannot fork to run openssl");
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        fmt::format("openssl {} failed (is the openssl command installed?); "
                    "see {}:\n{}",
                    args.empty() ? "" : args[0], log.string(), tail(log, 10)));
  }
  return OkStatus();
}

// A new EC key and a certificate for `subject` signed by the cluster CA with `extensions`.
Status make_signed_cert(const fs::path& dir, const std::string& name, const std::string& subject,
                        const std::string& extensions) {
  const fs::path t = tls_dir(dir);
  const fs::path key = t / (name + ".key");
  const fs::path cert = t / (name + ".crt");
  if (fs::exists(key) && fs::exists(cert)) return OkStatus();
  const fs::path csr = t / (name + ".csr");
  const fs::path ext = t / (name + ".ext");
  std::ofstream(ext) << extensions;
  BW_RETURN_IF_ERROR(run_openssl(
      dir, {"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key.string(), "-out", csr.string(), "-subj", subject}));
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
  BW_RETURN_IF_ERROR(run_openssl(
      dir, {"x509", "-req", "-in", csr.string(), "-CA", (t / "ca.crt").string(), "-CAkey",
            (t / "ca.key").string(), "-CAcreateserial", "-days", std::to_string(kLocalCertDays),
            "-sha256", "-extfile", ext.string(), "-out", cert.string()}));
  fs::remove(csr);
  fs::remove(ext);
  return OkStatus();
}

Status write_secret(const fs::path& path) {
  unsigned char bytes[kLocalSecretBytes];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return absl::InternalError("RAND_bytes failed");
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return absl::InternalError(fmt::format("cannot create {}", path.string()));
  hex += "\n";
  bool ok = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size());
  ::close(fd);
  if (!ok) return absl::InternalError(fmt::format("cannot write {}", path.string()));
  return OkStatus();
}

}  // namespace

ClusterTlsPaths cluster_tls_paths(const fs::path& dir) {
  const fs::path t = tls_dir(dir);
  return ClusterTlsPaths{.ca_cert = t / "ca.crt",
                         .client_cert = t / "client.crt",
                         .client_key = t / "client.key",
                         .secret = dir / "cluster-secret"};
}

bool has_cluster_tls(const fs::path& dir) {
  return fs::exists(tls_dir(dir) / "ca.key");
}

Status make_cluster_tls(const fs::path& dir) {
  const fs::path t = tls_dir(dir);
  std::error_code ec;
  fs::create_directories(t, ec);
  if (ec) return absl::InternalError(fmt::format("cannot create {}: {}", t.string(), ec.message()));
  fs::permissions(t, fs::perms::owner_all, ec);
  if (!fs::exists(t / "ca.key") || !fs::exists(t / "ca.crt")) {
    BW_RETURN_IF_ERROR(run_openssl(dir, {"req",
                                         "-x509",
                                         "-newkey",
                                         "ec",
                                         "-pkeyopt",
                                         "ec_paramgen_curve:P-256",
                                         "-nodes",
                                         "-keyout",
                                         (t / "ca.key").string(),
                                         "-out",
                                         (t / "ca.crt").string(),
                                         "-days",
                                         std::to_string(kLocalCertDays),
                                         "-sha256",
                                         "-subj",
                                         "/CN=Bellwether local CA",
                                         "-addext",
                                         "basicConstraints=critical,CA:TRUE",
                                         "-addext",
                                         "keyUsage=critical,keyCertSign,cRLSign"}));
    fs::permissions(t / "ca.key", fs::perms::owner_read | fs::perms::owner_write);
  }
  BW_RETURN_IF_ERROR(
      make_signed_cert(dir, "client", "/CN=bellwether client", "extendedKeyUsage=clientAuth\n"));
  const fs::path secret = cluster_tls_paths(dir).secret;
  if (!fs::exists(secret)) BW_RETURN_IF_ERROR(write_secret(secret));
  return OkStatus();
}

Status make_node_cert(const fs::path& dir, int label) {
  return make_signed_cert(dir, fmt::format("node{}", label),
                          fmt::format("/CN=bellwether node {}", label),
                          "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                          "extendedKeyUsage=serverAuth,clientAuth\n");
}

std::vector<std::string> cluster_tls_args(const fs::path& dir) {
  const ClusterTlsPaths p = cluster_tls_paths(dir);
  return {"--tls-ca-cert-file", p.ca_cert.string(),      "--tls-auth-clients", "yes",
          "--peer-tls",         "--cluster-secret-file", p.secret.string()};
}

std::vector<std::string> node_tls_args(const fs::path& dir, int label, int client_port) {
  const fs::path t = tls_dir(dir);
  return {"--tls-cert-file", (t / fmt::format("node{}.crt", label)).string(),
          "--tls-key-file",  (t / fmt::format("node{}.key", label)).string(),
          "--tls-port",      std::to_string(client_port + kTlsPortOffset)};
}

std::string redis_cli_tls_command(const fs::path& dir, int client_port) {
  const ClusterTlsPaths p = cluster_tls_paths(dir);
  return fmt::format("redis-cli --tls --cacert {} --cert {} --key {} -p {}", p.ca_cert.string(),
                     p.client_cert.string(), p.client_key.string(), client_port + kTlsPortOffset);
}

}  // namespace bw::server

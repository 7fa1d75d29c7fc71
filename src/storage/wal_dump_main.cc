// bellwether-wal-dump DIR | --snapshot FILE: a standalone form of `bellwether wal-dump`.
#include <cstring>
#include <iostream>

#include "storage/dump.h"

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--snapshot") == 0) {
    return bw::storage::inspect_snapshot(argv[2], std::cout).ok() ? 0 : 1;
  }
  if (argc != 2) {
    std::cerr << "usage: bellwether-wal-dump DATA_DIR | --snapshot FILE\n";
    return 2;
  }
  const bw::Status s = bw::storage::dump_data_dir(argv[1], std::cout);
  if (!s.ok()) std::cerr << "problem: " << s.ToString() << "\n";
  return s.ok() ? 0 : 1;
}

// Runs every src/kv/testdata/*.golden script (the scripts also checked against redis-server by
// tests/integration/test_commands.py) against kv::Store.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "kv/test_util.h"

namespace bw::kv {
namespace {

struct Step {
  std::string command;
  std::string expected;
  int line;
};

std::vector<std::string> tokenize(std::string_view line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ') {
      ++i;
      continue;
    }
    std::string word;
    if (line[i] == '"') {
      ++i;
      while (line.at(i) != '"') {
        if (line[i] != '\\') {
          word += line[i++];
          continue;
        }
        char e = line.at(i + 1);
        if (e == 'x') {
          word += static_cast<char>(std::stoi(std::string(line.substr(i + 2, 2)), nullptr, 16));
          i += 4;
          continue;
        }
        word += e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e == '0' ? '\0' : e;
        i += 2;
      }
      ++i;
    } else {
      while (i < line.size() && line[i] != ' ') word += line[i++];
    }
    words.push_back(std::move(word));
  }
  return words;
}

std::vector<std::pair<std::string, std::vector<Step>>> load(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::vector<std::pair<std::string, std::vector<Step>>> sections;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.starts_with("## ")) {
      sections.emplace_back(line.substr(3), std::vector<Step>{});
    } else if (line.starts_with("> ")) {
      std::string expected;
      std::getline(in, expected);
      ++n;
      sections.back().second.push_back(Step{line.substr(2), expected, n - 1});
    }
  }
  return sections;
}

// The scripts, one per command family, in name order.
std::vector<std::string> scripts() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(BW_KV_GOLDEN_DIR)) {
    if (entry.path().extension() == ".golden") names.push_back(entry.path().filename());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(KvGolden, AllSectionsMatchRedis) {
  const std::vector<std::string> names = scripts();
  for (const char* family : {"commands.golden", "hashes.golden", "lists.golden"}) {
    EXPECT_TRUE(std::find(names.begin(), names.end(), family) != names.end()) << family;
  }
  size_t steps = 0;
  for (const std::string& file : names) {
    auto sections = load(std::string(BW_KV_GOLDEN_DIR) + "/" + file);
    EXPECT_GE(sections.size(), 3u) << file;
    for (const auto& [name, section] : sections) {
      testing::Harness h;
      for (const Step& step : section) {
        std::vector<std::string> words = tokenize(step.command);
        std::vector<std::string_view> argv(words.begin(), words.end());
        EXPECT_EQ(testing::render(h.run(argv)), step.expected)
            << "section '" << name << "', " << file << ":" << step.line << ": > " << step.command;
        ++steps;
      }
    }
  }
  EXPECT_GE(steps, 500u);
}

}  // namespace
}  // namespace bw::kv

#include "env/memory.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <type_traits>

#include "core/rng.h"
#include "env/vec_env.h"

namespace cohort {
namespace {

// What one heap block of `n` bytes costs in glibc's malloc (header, rounding).
double Block(double n) { return n <= 0 ? 0.0 : std::ceil((n + 8.0) / 16.0) * 16.0; }

// A std::string of `len` characters: nothing beyond the object up to 15
// (small-string buffer), else its heap block.
double StringHeap(size_t len) { return len <= 15 ? 0.0 : Block(double(len) + 1.0); }

std::string Lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// First number of the line of /proc/meminfo that starts with `key`, in bytes.
double MemInfo(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream fields(line.substr(key.size() + 1));
      double kb = -1;
      if (fields >> kb) return kb * 1024.0;
    }
  return -1.0;
}

double ReadNumberFile(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return -1.0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  return end != nullptr && *end == '\0' ? v : -1.0;
}

// What the process's cgroup still allows (limit less usage), or -1 for no
// limit: the smallest headroom of its cgroup and every ancestor that sets a
// limit (a SLURM job sets it above the step's cgroup). Unlimited cgroups
// report "max" (v2) or a huge number (v1). In a container the path may not
// exist under /sys/fs/cgroup (its root is the container's): the mount's root
// is then the process's cgroup.
double CgroupHeadroom() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  double best = -1.0;
  while (std::getline(in, line)) {
    // "0::/path" (v2) or "4:memory:/path" (v1).
    const size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    std::string root, limit_name, usage_name;
    if (controllers.empty()) {
      root = "/sys/fs/cgroup", limit_name = "/memory.max", usage_name = "/memory.current";
    } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
      root = "/sys/fs/cgroup/memory", limit_name = "/memory.limit_in_bytes", usage_name = "/memory.usage_in_bytes";
    } else {
      continue;
    }
    while (!path.empty() && path.back() == '/') path.pop_back();
    for (;;) {
      const double limit = ReadNumberFile(root + path + limit_name);
      if (limit >= 0 && limit < 1e18) {
        const double usage = std::max(0.0, ReadNumberFile(root + path + usage_name));
        const double headroom = std::max(0.0, limit - usage);
        best = best < 0 ? headroom : std::min(best, headroom);
      }
      if (path.empty()) break;
      const size_t slash = path.rfind('/');
      path.erase(slash == std::string::npos ? 0 : slash);
    }
  }
  return best;
}

}  // namespace

void MemoryEstimate::Add(std::string what, std::vector<std::string> keys, double bytes) {
  if (!(bytes > 0)) return;
  parts_.push_back({std::move(what), std::move(keys), bytes});
}

void MemoryEstimate::Add(const MemoryEstimate& other, double copies, const std::string& prefix) {
  for (const MemoryPart& p : other.parts_) Add(prefix + p.what, p.keys, p.bytes * copies);
}

double MemoryEstimate::bytes() const {
  double total = 0.0;
  for (const MemoryPart& p : parts_) total += p.bytes;
  return total;
}

namespace {
std::vector<const MemoryPart*> Largest(const std::vector<MemoryPart>& parts) {
  std::vector<const MemoryPart*> order;
  for (const MemoryPart& p : parts) order.push_back(&p);
  std::stable_sort(order.begin(), order.end(),
                   [](const MemoryPart* a, const MemoryPart* b) { return a->bytes > b->bytes; });
  return order;
}
}  // namespace

std::string MemoryEstimate::Describe(size_t max_parts) const {
  std::string out;
  const std::vector<const MemoryPart*> order = Largest(parts_);
  for (size_t i = 0; i < order.size() && i < max_parts; ++i) {
    const MemoryPart& p = *order[i];
    out += (i ? "; " : "") + p.what;
    if (!p.keys.empty()) out += " (" + Join(p.keys) + ")";
    out += ": " + FormatBytes(p.bytes);
  }
  if (order.size() > max_parts) out += "; and " + std::to_string(order.size() - max_parts) + " smaller parts";
  return out;
}

std::string MemoryEstimate::LargestKey() const {
  const std::vector<const MemoryPart*> order = Largest(parts_);
  for (const MemoryPart* p : order)
    if (!p->keys.empty()) {
      const std::string& k = p->keys.front();
      return k.substr(0, k.find('='));
    }
  return "";
}

std::string FormatBytes(double bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 6) bytes /= 1024.0, ++u;
  char buf[64];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%.0f B", bytes);
  else if (u == 6 && bytes >= 1024.0)
    std::snprintf(buf, sizeof buf, "%.3g EiB", bytes);
  else
    std::snprintf(buf, sizeof buf, bytes < 10 ? "%.1f %s" : "%.0f %s", bytes, kUnits[u]);
  return buf;
}

double ParseMemoryLimit(const std::string& text) {
  const std::string t = Lower(text);
  if (t == "off" || t == "none") return -1.0;
  const auto bad = [&] {
    return InputError(
        "COHORT_MEMORY_LIMIT", "",
        "expected a size in bytes, optionally with a K, M, G or T suffix (e.g. 64G), or \"off\"; got \"" + text + "\"");
  };
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(t, &used);
  } catch (const std::exception&) {
    throw bad();
  }
  std::string suffix = t.substr(used);
  while (!suffix.empty() && suffix.front() == ' ') suffix.erase(0, 1);
  static const std::vector<std::pair<std::string, double>> kSuffixes = {{"", 1.0},
                                                                        {"b", 1.0},
                                                                        {"k", 1024.0},
                                                                        {"kb", 1024.0},
                                                                        {"kib", 1024.0},
                                                                        {"m", 1048576.0},
                                                                        {"mb", 1048576.0},
                                                                        {"mib", 1048576.0},
                                                                        {"g", 1073741824.0},
                                                                        {"gb", 1073741824.0},
                                                                        {"gib", 1073741824.0},
                                                                        {"t", 1099511627776.0},
                                                                        {"tb", 1099511627776.0},
                                                                        {"tib", 1099511627776.0}};
  for (const auto& [s, scale] : kSuffixes)
    if (suffix == s) {
      if (!std::isfinite(v) || v <= 0) throw bad();
      return v * scale;
    }
  throw bad();
}

AvailableMemory FindAvailableMemory() {
  AvailableMemory m;
  if (const char* limit = std::getenv("COHORT_MEMORY_LIMIT"); limit != nullptr && *limit != '\0') {
    m.bytes = ParseMemoryLimit(limit);
    m.source = m.bytes < 0 ? "the check is off (COHORT_MEMORY_LIMIT=off)" : "COHORT_MEMORY_LIMIT=" + std::string(limit);
    return m;
  }
  m.bytes = MemInfo("MemAvailable");
  m.source = "MemAvailable in /proc/meminfo";
  const double cgroup = CgroupHeadroom();
  if (cgroup >= 0 && (m.bytes < 0 || cgroup < m.bytes)) {
    m.bytes = cgroup;
    m.source = "the cgroup's memory limit less its usage";
  }
  return m;
}

void CheckMemory(const MemoryEstimate& estimate, const std::string& file, const std::string& what,
                 const std::string* pointer) {
  const double need = estimate.bytes();
  if (need <= 0) return;
  const AvailableMemory have = FindAvailableMemory();
  if (have.bytes < 0 || need <= have.bytes) return;
  const std::string key = estimate.LargestKey();
  throw InputError(file,
                   pointer != nullptr ? *pointer
                   : key.empty()      ? ""
                                      : DottedToPointer(key),
                   what + " needs about " + FormatBytes(need) + " of memory, more than the " + FormatBytes(have.bytes) +
                       " available (" + have.source + "): " + estimate.Describe() +
                       ". Lower the keys named, or run on a machine with more memory (COHORT_MEMORY_LIMIT sets the "
                       "limit; docs/simulator.md#memory)");
}

std::string KeyWithValue(const json& resolved, const std::string& dotted) {
  if (!resolved.is_object()) return dotted;
  const json::json_pointer p(DottedToPointer(dotted));
  if (!resolved.contains(p)) return dotted;
  const json& v = resolved[p];
  return dotted + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
}

void AddVecEnvMemory(const EnvParams& env, const json& resolved, int64_t rows, const std::string& rows_key,
                     MemoryEstimate& out, const std::string& what) {
  const double B = double(rows);
  const bool embedding = env.catalog.features == FeatureKind::kEmbedding;
  const int dim = env.FeatureDim(), K = env.num_candidates, k = env.slate_size, T = env.num_topics;
  auto key = [&](const char* dotted) { return KeyWithValue(resolved, dotted); };
  const std::vector<std::string> dim_keys = embedding
                                                ? std::vector<std::string>{rows_key, key("env.catalog.embedding_dim")}
                                                : std::vector<std::string>{rows_key, key("env.num_topics")};

  // VecEnv::VisitState, per row: user 8, segment 4, 8 doubles, history head
  // 4, three random streams; interests (dim floats), boredom (topics
  // floats, when enabled) and the history ring (history ints).
  const double fixed = 8 + 4 + 8 * 8 + 4 + 3 * double(sizeof(Rng));
  out.Add(what + ": user state of " + std::to_string(rows) + " slots", {rows_key}, B * fixed);
  out.Add(what + ": interests, slots x feature dimension", dim_keys, B * 4.0 * dim);
  if (env.BoredomEnabled()) out.Add(what + ": boredom, slots x topics", {rows_key, key("env.num_topics")}, B * 4.0 * T);
  out.Add(what + ": click history, slots x observation.history", {rows_key, key("env.observation.history")},
          B * 4.0 * std::max(env.observation.history, 1));

  // The StepBatch, from its own field list, split into what the candidates
  // take (item ids, topics, lengths, features, hidden quality) and the rest.
  StepBatch b;
  b.num_candidates = K;
  b.slate_size = k;
  b.dim = dim;
  b.history = env.observation.history;
  b.sequence = env.observation.sequence.length;
  b.sequence_items = env.catalog.source == CandidateSource::kLive;
  b.candidate_features = embedding;
  double per_row_candidates = 4.0 * K;  // VecEnv::quality_, outside the batch
  double per_row_other = 0.0;
  double per_row_sequence = b.sequence > 0 ? 4.0 : 0.0;  // VecEnv::session_gap_
  b.ForEachField([&](const char* name, auto& v, int width, double, bool, Domain) {
    using Element = typename std::decay_t<decltype(v)>::value_type;
    const double bytes = double(sizeof(Element)) * double(width);
    const std::string n = name;
    if (n == "item_id" || n == "topic" || n == "length" || n == "features")
      per_row_candidates += bytes;
    else if (n.rfind("sequence_", 0) == 0)
      per_row_sequence += bytes;
    else
      per_row_other += bytes;
  });
  std::vector<std::string> candidate_keys = {rows_key, key("env.candidates")};
  if (embedding) candidate_keys.push_back(key("env.catalog.embedding_dim"));
  out.Add(what + ": candidates of every slot (slots x candidates" + std::string(embedding ? " x dimension)" : ")"),
          candidate_keys, B * per_row_candidates);
  out.Add(what + ": observations and responses of every slot", dim_keys, B * per_row_other);
  std::vector<std::string> sequence_keys = {rows_key, key("env.observation.sequence.length"), key("env.slate_size")};
  if (embedding) sequence_keys.push_back(key("env.catalog.embedding_dim"));
  out.Add(what + ": interaction sequences (slots x observation.sequence.length x slate)", sequence_keys,
          B * per_row_sequence);

  // PopulationModel (the VecEnv keeps the initial one and a working copy):
  // topic centres (embedding) and per-topic tables.
  const double model = (embedding ? 4.0 * T * dim : 0.0) + 3 * 8.0 * T;
  out.Add(what + ": topic tables", {key("env.num_topics"), key("env.catalog.embedding_dim")}, 2 * model);
}

double CatalogItems(const EnvParams& env, double ticks) {
  if (env.catalog.source != CandidateSource::kLive) return 0.0;
  double items = env.catalog.size + env.catalog.arrival_rate * std::max(0.0, ticks);
  for (const EventParams& e : env.events)
    if (e.kind == EventKind::kNewItems && double(e.at_step) <= ticks) items += e.count;
  return items;
}

void AddCatalogMemory(const EnvParams& env, const json& resolved, double items, double copies, MemoryEstimate& out) {
  if (env.catalog.source != CandidateSource::kLive || items <= 0) return;
  const bool embedding = env.catalog.features == FeatureKind::kEmbedding;
  // Catalog: topic, quality, length (4 bytes each), creation tick and the
  // alive list (8 each), features (dim floats, embedding catalogs); vectors
  // grown item by item, so their capacity is the next power of two.
  const double per_item = 4 + 4 + 4 + 8 + 8 + (embedding ? 4.0 * env.FeatureDim() : 0.0);
  const double capacity = std::exp2(std::ceil(std::log2(std::max(1.0, items))));
  std::vector<std::string> keys = {KeyWithValue(resolved, "env.catalog.size")};
  if (embedding) keys.push_back(KeyWithValue(resolved, "env.catalog.embedding_dim"));
  if (env.catalog.arrival_rate > 0) keys.push_back(KeyWithValue(resolved, "env.catalog.arrival_rate"));
  char what[128];
  std::snprintf(what, sizeof what, "live catalog of %.3g items%s", items,
                copies > 1 ? (" (x" + std::to_string(int(copies)) + " copies)").c_str() : "");
  out.Add(what, keys, capacity * per_item * copies);
}

void AddFamilyMemory(const json& resolved, MemoryEstimate& out) {
  if (!resolved.is_object() || !resolved.contains("family") || !resolved["family"].is_object()) return;
  const json& f = resolved["family"];
  if (!f.contains("parameters") || !f["parameters"].is_array()) return;
  // The paths of a split: the family's, replaced or joined by an ood split's.
  auto paths_of = [](const json& params, std::vector<std::string>& paths) {
    if (!params.is_array()) return;
    for (const json& p : params)
      if (p.is_object() && p.contains("path") && p["path"].is_string()) {
        const std::string path = p["path"].get<std::string>();
        if (std::find(paths.begin(), paths.end(), path) == paths.end()) paths.push_back(path);
      }
  };
  struct Split {
    std::string name, key;
    double count = 0;
    std::vector<std::string> paths;
  };
  std::vector<Split> splits;
  std::vector<std::string> family_paths, all_paths;
  paths_of(f["parameters"], family_paths);
  all_paths = family_paths;
  if (f.contains("splits") && f["splits"].is_object())
    for (const char* name : {"train", "validation", "test"})
      if (f["splits"].contains(name) && f["splits"][name].is_number())
        splits.push_back({name, std::string("family.splits.") + name, f["splits"][name].get<double>(), family_paths});
  if (f.contains("ood") && f["ood"].is_array())
    for (size_t i = 0; i < f["ood"].size(); ++i) {
      const json& o = f["ood"][i];
      if (!o.is_object() || !o.contains("count") || !o["count"].is_number()) continue;
      Split s{o.value("name", std::string("ood")),
              "family.ood." + std::to_string(i) + ".count",
              o["count"].get<double>(),
              {}};
      paths_of(o.contains("parameters") ? o["parameters"] : json(), s.paths);
      for (const std::string& p : family_paths)
        if (std::find(s.paths.begin(), s.paths.end(), p) == s.paths.end()) s.paths.push_back(p);
      paths_of(o.contains("parameters") ? o["parameters"] : json(), all_paths);
      splits.push_back(std::move(s));
    }
  if (all_paths.empty()) return;  // no family: VariantFamily holds nothing
  const double union_paths = double(all_paths.size());
  for (const Split& s : splits) {
    // One Variant: the object, its split name, its values (a vector of
    // (path, value) pairs, each path a string); one node of the set of
    // assignments (a vector of one double per path of the union).
    double per = double(sizeof(std::string)) + 2 * 8 + double(sizeof(std::vector<int>)) + StringHeap(s.name.size());
    per += Block(double(s.paths.size()) * double(sizeof(std::pair<std::string, double>)));
    for (const std::string& p : s.paths) per += StringHeap(p.size());
    per += Block(32 + double(sizeof(std::vector<double>))) + Block(8 * union_paths);
    out.Add("variant family: split \"" + s.name + "\" held in memory", {KeyWithValue(resolved, s.key)}, s.count * per);
  }
}

}  // namespace cohort

#include "apps/ope_terms.h"

#include <filesystem>
#include <stdexcept>

#include "apps/h5_table.h"

namespace fs = std::filesystem;

namespace cohort {

void CheckOpeTermsPath(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec)) throw InputError("--terms", "", path + " is a directory; give the file to write");
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec))
    throw InputError("--terms", "", "the directory of " + path + " does not exist (" + dir.string() + ")");
}

void WriteOpeTerms(const std::string& path, const OpeTermsColumns& c, const json& attributes) {
  using Type = H5Table::Type;
  const OpeData& d = *c.data;
  const int64_t n = d.n;
  const int k = d.k, K = c.K;
  H5Table table(path);
  // One column: its values for row i start at values[i * width].
  struct Column {
    int index;
    int width;
    const std::vector<double>* values;
  };
  std::vector<Column> doubles;
  auto add = [&](const char* group, const char* name, int width, const std::vector<double>* v, const std::string& doc) {
    if (v->size() != size_t(n) * size_t(width))
      throw std::logic_error(std::string("ope terms: column ") + name + " has the wrong size");
    doubles.push_back({table.AddColumn(group, name, Type::kFloat64, width, doc), width, v});
  };
  const int user_col =
      table.AddColumn("terms", "user_id", Type::kInt64, 1, "the logged user (one user is one episode)");
  const int slate_col =
      table.AddColumn("terms", "slate", Type::kInt32, k, "the logged slate: candidate indices in position order");
  add("terms", "reward", 1, &d.reward, "r_i, the step's reward");
  add("terms", "position_reward", k, &d.position_reward,
      "the part of r_i credited to position j (the reward at the clicked position, 0 elsewhere; position 0 when "
      "no click)");
  add("terms", "slate_propensity", 1, c.slate_propensity, "mu(s_i | x_i), the logging probability of the whole slate");
  add("terms", "mu_conditional", k, &d.mu_conditional,
      "mu(s_ij | x_i, s_i1..s_i,j-1): the logging conditionals, whose product is slate_propensity");
  add("terms", "mu_marginal", k, &d.mu_marginal, "mu(item s_ij at position j | x_i): the logging position marginals");
  add("terms", "pi_conditional", k, &d.pi_conditional,
      "pi(s_ij | x_i, s_i1..s_i,j-1): the target's conditionals on the logged slate");
  add("terms", "pi_marginal", k, &d.pi_marginal, "pi(item s_ij at position j | x_i): the target's position marginals");
  add("terms", "pi_item_position", k * k, &d.pi_item_position,
      "entry j * k + l: pi(item s_ij at position l | x_i), for every position l");
  add("terms", "pi_position_item", k * K, c.pi_position_item,
      "entry j * K + c: pi(candidate c at position j | x_i), the target's full position marginals");
  add("terms", "model_position", k, &d.model_position, "the direct method's r_hat(x_i, s_ij, j) on the logged slate");
  add("terms", "model_position_item", k * K, c.model_position_item,
      "entry j * K + c: the direct method's r_hat(x_i, c, j) for every candidate c at every position j");
  add("terms", "model_target_value", 1, &d.model_target_value,
      "sum_j sum_c pi(c at j | x_i) r_hat(x_i, c, j): the model's value of the target at x_i (dm's term)");
  if (!d.pseudo_inverse_weight.empty())
    add("terms", "pseudo_inverse_weight", 1, &d.pseudo_inverse_weight,
        "rho(s_i) = sum_j z[s_ij * k + j], z = Gamma_mu^+ q_pi: the pseudo-inverse's exact weight");
  add("truth", "target_value", 1, c.truth_value,
      "privileged: E_{s ~ pi(x_i)} E[r | x_i, s], the exact expected reward of the target in the logged state "
      "(estimators must not read it; its mean is the result's truth)");
  std::vector<int32_t> slate(static_cast<size_t>(k));
  for (int64_t i = 0; i < n; ++i) {
    table.Append(user_col, &(*c.user)[size_t(i)]);
    for (int j = 0; j < k; ++j) slate[size_t(j)] = int32_t((*c.slate)[size_t(i) * k + size_t(j)]);
    table.Append(slate_col, slate.data());
    for (const Column& col : doubles) table.Append(col.index, col.values->data() + size_t(i) * size_t(col.width));
  }
  for (auto it = attributes.begin(); it != attributes.end(); ++it)
    table.SetAttribute("", it.key(), it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
  table.Commit();
}

}  // namespace cohort

#include "apps/offline.h"

#include <cmath>
#include <filesystem>
#include <memory>

#include "apps/h5_table.h"
#include "apps/log.h"
#include "core/io.h"
#include "core/json_parse.h"
#include "core/ope.h"

namespace fs = std::filesystem;

namespace cohort {

OfflineFit TrainOffline(const std::string& log_dir, const std::string& out, double lambda) {
  const std::string file = (fs::path(log_dir) / "log.h5").string();
  if (!(lambda > 0.0) || !std::isfinite(lambda)) throw std::invalid_argument("the L2 penalty must be a finite number > 0");
  const std::unique_ptr<H5Reader> h5 = OpenLog(log_dir);
  int64_t n = 0, rows = 0;
  int k = 0, d = 0, K = 0, w = 0;
  const std::vector<int64_t> slate = h5->Integers("steps/slate", &n, &k);
  const std::vector<int64_t> clicked = h5->Integers("steps/clicked", &rows, &w);
  const std::vector<double> interests = h5->Doubles("steps/interests", &rows, &d);
  const std::vector<int64_t> topic = h5->Integers("steps/candidate_topic", &rows, &K);
  const bool embedded = h5->HasColumn("steps/candidate_features");
  int fw = 0;
  const std::vector<double> features =
      embedded ? h5->Doubles("steps/candidate_features", &rows, &fw) : std::vector<double>{};

  // Rows [u * x, x, onehot(j)]; Newton's method on the penalized log-likelihood.
  const int D = 2 * d + k;
  std::vector<double> x(static_cast<size_t>(D)), beta(static_cast<size_t>(D), 0.0);
  auto fill = [&](int64_t i, int j) {
    const int c = int(slate[size_t(i) * k + size_t(j)]);
    for (int m = 0; m < d; ++m) {
      const double xc = embedded ? features[(size_t(i) * K + size_t(c)) * d + size_t(m)]
                                 : (topic[size_t(i) * K + size_t(c)] == m ? 1.0 : 0.0);
      x[size_t(m)] = interests[size_t(i) * d + size_t(m)] * xc;
      x[size_t(d + m)] = xc;
    }
    for (int m = 0; m < k; ++m) x[size_t(2 * d + m)] = m == j ? 1.0 : 0.0;
  };
  OfflineFit fit;
  fit.rows = n * k;
  std::vector<double> H(size_t(D) * D), g(static_cast<size_t>(D));
  for (fit.iterations = 0; fit.iterations < 50; ++fit.iterations) {
    std::fill(H.begin(), H.end(), 0.0);
    for (int p = 0; p < D; ++p) g[size_t(p)] = -lambda * beta[size_t(p)], H[size_t(p) * D + p] = lambda;
    double loss = 0.0;
    for (int64_t i = 0; i < n; ++i)
      for (int j = 0; j < k; ++j) {
        fill(i, j);
        double z = 0.0;
        for (int p = 0; p < D; ++p) z += beta[size_t(p)] * x[size_t(p)];
        const double prob = 1.0 / (1.0 + std::exp(-z)), y = double(clicked[size_t(i) * k + size_t(j)]);
        loss -= y > 0 ? std::log(std::max(prob, 1e-300)) : std::log(std::max(1.0 - prob, 1e-300));
        const double s = prob * (1.0 - prob);
        for (int p = 0; p < D; ++p) {
          if (x[size_t(p)] == 0.0) continue;
          g[size_t(p)] += (y - prob) * x[size_t(p)];
          for (int q = 0; q <= p; ++q) H[size_t(p) * D + q] += s * x[size_t(p)] * x[size_t(q)];
        }
      }
    fit.log_loss = loss / double(std::max<int64_t>(1, fit.rows));
    double norm = 0.0;
    for (double v : g) norm += v * v;
    if (std::sqrt(norm) < 1e-8 * double(std::max<int64_t>(1, fit.rows))) break;
    // H step = g (H = X^T W X + lambda I is positive definite).
    const std::vector<double> step = CholeskySolve(H, g);
    for (int p = 0; p < D; ++p) beta[size_t(p)] += step[size_t(p)];
  }
  const json scenario = ParseJson(h5->Attribute("scenario"), file + " (scenario attribute)");
  fit.model = {{"kind", "cohort_click_model"},
               {"feature_dim", d},
               {"slate_size", k},
               {"lambda", lambda},
               {"interaction", std::vector<double>(beta.begin(), beta.begin() + d)},
               {"item", std::vector<double>(beta.begin() + d, beta.begin() + 2 * d)},
               {"position", std::vector<double>(beta.begin() + 2 * d, beta.end())},
               {"fitted_on", {{"log", log_dir}, {"scenario", scenario.value("name", "")}, {"rows", fit.rows},
                              {"iterations", fit.iterations}, {"log_loss", fit.log_loss}}}};
  WriteFileAtomic(out, fit.model.dump(2) + "\n");
  return fit;
}

}  // namespace cohort

#include "agents/torch/common.h"

#include <dlfcn.h>
#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <mutex>

namespace cohort::torch_agents {

void UseOneThread() {
  static std::once_flag once;
  std::call_once(once, [] {
    torch::set_num_threads(1);
    // Debian's LibTorch calls OpenBLAS (pthread build), which keeps its own
    // worker threads despite set_num_threads; turn them off when present.
    using SetThreads = void (*)(int);
    if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(1);
    // Activations and gradients of a few MB are allocated and freed at every
    // step; glibc would mmap and munmap each one, and the page faults took
    // 40% of REINFORCE's time at B = 1024 (perf). Keep them in the heap
    // (32 MB is the largest threshold glibc accepts) and do not trim it.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    try {
      torch::set_num_interop_threads(1);
    } catch (const std::exception&) {
      // Already set (or a parallel region ran): one intra-op thread is what matters.
    }
  });
}

torch::nn::Sequential Mlp(int in, const std::vector<int>& hidden, int out, const std::string& activation) {
  torch::nn::Sequential net;
  int prev = in;
  for (int h : hidden) {
    net->push_back(torch::nn::Linear(prev, h));
    if (activation == "tanh")
      net->push_back(torch::nn::Tanh());
    else
      net->push_back(torch::nn::ReLU());
    prev = h;
  }
  net->push_back(torch::nn::Linear(prev, out));
  return net;
}

void InitLinear(torch::nn::Sequential& net, Rng& rng, double last_scale) {
  torch::NoGradGuard no_grad;
  std::vector<torch::nn::LinearImpl*> layers;
  for (auto& m : net->modules(/*include_self=*/false))
    if (auto* l = m->as<torch::nn::Linear>()) layers.push_back(l);
  for (size_t i = 0; i < layers.size(); ++i) {
    const double bound = 1.0 / std::sqrt(double(layers[i]->weight.size(1)));
    const double scale = i + 1 == layers.size() ? last_scale : 1.0;
    for (torch::Tensor* t : {&layers[i]->weight, &layers[i]->bias}) {
      float* p = t->data_ptr<float>();
      for (int64_t j = 0; j < t->numel(); ++j) p[j] = float(scale * rng.Uniform(-bound, bound));
    }
  }
}

void ParamSet::Add(const std::string& prefix, torch::nn::Module& module, int role) {
  for (auto& item : module.named_parameters()) {
    params_.emplace_back(prefix + "." + item.key(), item.value());
    roles_.push_back(role);
  }
}

void ParamSet::SetRule(const json& optimizer_config) {
  rule_ = MakeUpdateRule(optimizer_config);
  ZeroGrad();
  rule_->Init(Refs());
}

void ParamSet::ZeroGrad() {
  for (auto& [name, p] : params_) {
    if (!p.grad().defined())
      p.mutable_grad() = torch::zeros_like(p);
    else
      p.mutable_grad().zero_();
  }
}

std::vector<ParamRef> ParamSet::Refs() {
  std::vector<ParamRef> refs;
  refs.reserve(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& p = params_[i].second;
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    refs.push_back({params_[i].first, p.data_ptr<float>(), p.grad().data_ptr<float>(), p.numel(), roles_[i]});
  }
  return refs;
}

void ParamSet::Step(const StepInfo& info) {
  torch::NoGradGuard no_grad;
  rule_->Step(Refs(), info);
}

int64_t ParamSet::NumParameters() const {
  int64_t n = 0;
  for (const auto& [name, p] : params_) n += p.numel();
  return n;
}

void ParamSet::Save(BinaryWriter& out) const {
  out.Tag("params");
  out.Pod<uint64_t>(params_.size());
  for (const auto& [name, p] : params_) out.Bytes(p.data_ptr<float>(), size_t(p.numel()) * sizeof(float));
  rule_->Save(out);
}

void ParamSet::Load(BinaryReader& in) {
  torch::NoGradGuard no_grad;
  in.Tag("params");
  if (in.Get<uint64_t>() != params_.size()) throw std::runtime_error("checkpoint holds a different network");
  for (auto& [name, p] : params_) in.BytesInto(p.data_ptr<float>(), size_t(p.numel()) * sizeof(float));
  rule_->Load(in);
}

void ParamSet::CopyValuesTo(ParamSet& target) const {
  torch::NoGradGuard no_grad;
  if (target.params_.size() != params_.size()) throw std::logic_error("CopyValuesTo: different networks");
  for (size_t i = 0; i < params_.size(); ++i) target.params_[i].second.copy_(params_[i].second);
}

std::string ParamSet::CopyValuesFrom(const ParamSet& source) {
  auto shape = [](const torch::Tensor& t) {
    std::string out = "[";
    for (int64_t i = 0; i < t.dim(); ++i) out += (i ? ", " : "") + std::to_string(t.size(i));
    return out + "]";
  };
  for (size_t i = 0; i < std::max(params_.size(), source.params_.size()); ++i) {
    if (i >= source.params_.size()) return params_[i].first + " is not in the checkpoint";
    if (i >= params_.size()) return "the checkpoint's " + source.params_[i].first + " is not in this agent";
    if (params_[i].first != source.params_[i].first)
      return "parameter " + std::to_string(i) + " is " + params_[i].first + " here and " + source.params_[i].first +
             " in the checkpoint";
    if (!params_[i].second.sizes().equals(source.params_[i].second.sizes()))
      return params_[i].first + " has shape " + shape(params_[i].second) + " here and " +
             shape(source.params_[i].second) + " in the checkpoint";
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) params_[i].second.copy_(source.params_[i].second);
  return "";
}

std::string ParamSet::CopyGroupsFrom(const ParamSet& source,
                                     const std::vector<std::pair<std::string, std::string>>& groups) {
  auto shape = [](const torch::Tensor& t) {
    std::string out = "[";
    for (int64_t i = 0; i < t.dim(); ++i) out += (i ? ", " : "") + std::to_string(t.size(i));
    return out + "]";
  };
  auto members = [](const std::vector<std::pair<std::string, torch::Tensor>>& params, const std::string& group) {
    std::vector<size_t> out;
    for (size_t i = 0; i < params.size(); ++i)
      if (params[i].first.rfind(group + ".", 0) == 0) out.push_back(i);
    return out;
  };
  std::vector<std::pair<size_t, size_t>> copies;  // (here, source)
  for (const auto& [from, to] : groups) {
    const std::vector<size_t> here = members(params_, to), there = members(source.params_, from);
    if (here.empty() && there.empty()) continue;  // neither has it (e.g. no encoder)
    if (here.empty()) return "this agent has no " + to + " network";
    if (there.empty()) return "the checkpoint has no " + from + " network";
    for (size_t j = 0; j < std::max(here.size(), there.size()); ++j) {
      if (j >= there.size()) return params_[here[j]].first + " has no counterpart in the checkpoint's " + from;
      if (j >= here.size()) return "the checkpoint's " + source.params_[there[j]].first + " has no counterpart here";
      const auto& [name, value] = params_[here[j]];
      const auto& [source_name, source_value] = source.params_[there[j]];
      if (name.substr(to.size()) != source_name.substr(from.size()))
        return "parameter " + name + " here faces " + source_name + " in the checkpoint";
      if (!value.sizes().equals(source_value.sizes()))
        return name + " has shape " + shape(value) + " here and " + source_name + " " + shape(source_value) +
               " in the checkpoint";
      copies.emplace_back(here[j], there[j]);
    }
  }
  torch::NoGradGuard no_grad;
  for (const auto& [i, j] : copies) params_[i].second.copy_(source.params_[j].second);
  return "";
}

void CheckFiniteLoss(const torch::Tensor& loss, const std::string& agent, const std::string& name) {
  const double v = loss.item<double>();
  if (!std::isfinite(v)) throw TrainingDiverged(agent + ": " + name + " is NaN/Inf");
}

void CandidateForward(torch::nn::Sequential net, const CandidateFeatures& features, const StepBatch& obs, int row,
                      double* out) {
  const int K = obs.num_candidates, F = features.dim();
  std::vector<float> x(size_t(K) * size_t(F));
  features.FillRow(obs, row, x.data());
  c10::InferenceMode guard;
  const torch::Tensor y = net->forward(View(x, {K, F})).reshape({-1}).contiguous();
  const float* p = y.data_ptr<float>();
  for (int c = 0; c < K; ++c) out[c] = double(p[c]);
}

int SampleIndex(const float* p, int n, Rng& rng) {
  const double u = rng.Uniform();
  double c = 0.0;
  for (int i = 0; i < n; ++i) {
    c += p[i];
    if (u < c) return i;
  }
  for (int i = n - 1; i >= 0; --i)  // rounding: the last index with mass
    if (p[i] > 0) return i;
  return n - 1;
}

void AddNetworkKeys(Schema& s, std::vector<int> hidden, double lr, const std::string& activation) {
  json h = json::array();
  for (int v : hidden) h.push_back(v);
  s.NumberArray("hidden", h, 1, 4096, "hidden layer sizes", 0, 8)
      .String("activation", activation, {"tanh", "relu"}, "activation between layers")
      .Component("optimizer", &UpdateRuleRegistry(), "adam", "update rule (agents/update_rules.h)")
      .WithDefaults({{"lr", lr}});
}

}  // namespace cohort::torch_agents

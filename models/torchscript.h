// TorchScript score models (`model.kind: torchscript`): a network trained in Python, saved with
// torch.jit.script or torch.jit.trace and torch.jit.save, used as a ScoreModel like any other.
// Its forward takes (x [B, ...], t [B]) in the process's time units, or (x, t, labels [B] int64)
// for a class-conditional module (model.num_classes > 0; the label num_classes is the null label
// of classifier-free guidance), and returns a tensor shaped like x in model.prediction:
//
//   eps | x0 | v | velocity | score    the module's output is that prediction at (x, t);
//   edm                                 the module is EDM's raw network F and is called as
//                                       F(c_in x, c_noise); the model is the preconditioned x0
//                                       c_skip x + c_out F (Karras et al. 2022, Table 1, with
//                                       model.sigma_data; models/preconditioning.h).
//
// model.shape is the module's per-sample input shape, e.g. [1, 28, 28]: samplers' flat rows
// [B, 784] are reshaped to [B, 1, 28, 28] for the call and back (an x already so shaped is
// passed as it is). Without it the module sees the data's shape. Attributes a module carries
// (`diffuse export` writes them) fill what the config leaves open: prediction, shape,
// num_classes, sigma_data; a `process` attribute must match the config's process.
//
// Everything is checked once, on a probe batch, before any sampling starts: a file that is not
// TorchScript, a forward with the wrong arguments, an output of the wrong shape or dtype, or an
// unknown prediction is an InputError naming the file and what was expected.
//
//   ScoreModelPtr m = load_torchscript_model(config.model, process, {784}, options);
#pragma once

#include "core/data/mixture_config.h"
#include "core/process/process.h"
#include "models/model_factory.h"
#include "models/preconditioning.h"
#include "models/score_model.h"

#include <torch/script.h>

#include <optional>
#include <string>
#include <vector>

namespace diffuse {

// The predictions a TorchScript module may declare (model.prediction).
const std::vector<std::string>& torchscript_predictions();

class TorchScriptModel : public ScoreModel {
 public:
  // module: already on the run's device and dtype. preconditioner: only for prediction edm.
  TorchScriptModel(torch::jit::Module module, std::string path, std::string prediction,
                   std::vector<std::int64_t> shape, std::int64_t num_classes,
                   std::optional<Preconditioner> preconditioner, ProcessPtr process);

  Parameterization parameterization() const override { return parameterization_; }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override;
  std::string describe() const override;
  std::int64_t num_classes() const override { return num_classes_; }
  torch::Tensor forward_labelled(const torch::Tensor& x, const torch::Tensor& t,
                                 const torch::Tensor& labels) override;

  const std::vector<std::int64_t>& shape() const { return shape_; }
  const std::string& prediction() const { return prediction_; }
  const std::string& path() const { return path_; }
  // EDM's sigma_data for prediction edm; none otherwise.
  std::optional<double> sigma_data() const {
    return preconditioner_ ? std::optional<double>(preconditioner_->sigma_data()) : std::nullopt;
  }

 private:
  // One call of the module on x shaped [B, shape...]; checks the output's shape and dtype.
  torch::Tensor call(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels);

  torch::jit::Module module_;
  std::string path_, prediction_;
  std::vector<std::int64_t> shape_;
  std::int64_t num_classes_;
  std::optional<Preconditioner> preconditioner_;
  ProcessPtr process_;
  Parameterization parameterization_;
};

// The per-sample shape of the data a model of this config sees: [model.dim], or the data's.
std::vector<std::int64_t> torchscript_data_shape(const ModelConfig& config, const DataConfig& data);

// A path that names a TorchScript module (".ts") rather than a diffuse checkpoint.
bool is_torchscript_file(const std::string& path);

// Loads model.path, reads the attributes it carries, checks its signature and probes it on a
// batch of 2 rows of data_shape (or model.shape) at two times inside the process's range.
std::shared_ptr<TorchScriptModel> load_torchscript_model(const ModelConfig& config,
                                                         const ProcessPtr& process,
                                                         std::vector<std::int64_t> data_shape,
                                                         const torch::TensorOptions& options);

}  // namespace diffuse

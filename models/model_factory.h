// Builds the ScoreModel a run config names (`model:` section). Today: the analytic oracle of a
// Gaussian-mixture data set; trained networks join this table as they arrive.
//
//   ScoreModelPtr model = make_model(config.model, process, config.data, options);
#pragma once

#include "core/base/config.h"
#include "core/data/mixture_config.h"
#include "core/process/process.h"
#include "models/score_model.h"

#include <optional>
#include <string>
#include <vector>

namespace diffuse {

const std::vector<std::string>& model_kinds();

// `model:` which score model, and for trained networks their shape. Keys a kind does
// not use are ignored; `diffuse train` writes the resolved values (parameterization, sigma_data,
// dim) into the run's config and checkpoint.
struct ModelConfig {
  std::string kind = "analytic";  // analytic | linear | two-layer | mlp | subspace | torchscript
  // What the network predicts: auto (eps for VP, edm for edm, velocity for rf, score for VE),
  // eps, x0, v, velocity, score or edm (EDM-preconditioned x0; models/preconditioning.h).
  std::string parameterization = "auto";
  std::optional<double> sigma_data;  // the data's RMS (default: measured from the data)
  std::optional<int> dim;            // the data's dimension D (default: from the data)
  int width = 256;                   // mlp: hidden width
  int depth = 4;                     // mlp: residual blocks
  int components = 8;                // two-layer: softmax components M (its width)
  int hidden = 64;                   // linear, two-layer: width of the noise-level network
  std::string matrix = "full";       // linear, two-layer: W(t) full or diag
  std::optional<int> rank;           // linear: low-rank basis d; subspace: latent dimension d
  std::string latent = "mlp";        // subspace: the latent model (linear, two-layer, mlp)
  std::string basis_init = "pca";    // linear with rank, subspace: pca (of the data) or random
  std::string time_embedding = "sinusoidal";  // sinusoidal | fourier
  int embedding_dim = 64;
  double fourier_scale = 4.0;
  bool layer_norm = true;  // mlp
  int num_classes = 0;     // mlp: class conditioning with this many labels (0: unconditional)
  // A consistency model f(x, t) around this network (models/consistency.h), trained by
  // `diffuse distill` and sampled with the `consistency` sampler.
  bool consistency = false;
  // torchscript (models/torchscript.h): the torch.jit.save file, what its forward returns (eps,
  // x0, v, velocity, score, or edm: EDM's raw F) and its per-sample input shape (e.g. [1, 28, 28];
  // empty: the data's).
  std::string path;
  std::string prediction;
  std::vector<std::int64_t> shape;

  template <class V>
  void visit(V& v) {
    v("kind", kind, config::one_of(model_kinds()));
    v("parameterization", parameterization,
      config::one_of({"auto", "eps", "x0", "v", "velocity", "score", "edm"}));
    v("sigma_data", sigma_data, config::greater_than(0.0));
    v("dim", dim, config::at_least(1));
    v("width", width, config::at_least(1));
    v("depth", depth, config::at_least(0));
    v("components", components, config::at_least(1));
    v("hidden", hidden, config::at_least(1));
    v("matrix", matrix, config::one_of({"full", "diag"}));
    v("rank", rank, config::at_least(1));
    v("latent", latent, config::one_of({"linear", "two-layer", "mlp"}));
    v("basis_init", basis_init, config::one_of({"pca", "random"}));
    v("time_embedding", time_embedding, config::one_of({"sinusoidal", "fourier"}));
    v("embedding_dim", embedding_dim, config::at_least(2));
    v("fourier_scale", fourier_scale, config::greater_than(0.0));
    v("layer_norm", layer_norm);
    v("num_classes", num_classes, config::at_least(0));
    v("consistency", consistency);
    v("path", path);
    v("prediction", prediction);
    v("shape", shape);
  }
};

// InputError when the model cannot be built from this data (e.g. analytic on two-moons).
ScoreModelPtr make_model(const ModelConfig& config, const ProcessPtr& process,
                         const DataConfig& data, const torch::TensorOptions& options);

}  // namespace diffuse

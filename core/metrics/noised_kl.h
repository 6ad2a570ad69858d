// KL(P || Q_t) from samples of P, where Q_t is a Gaussian mixture's law noised to
// x_t = alpha x0 + sigma eps: the divergence of a sampler's output from the theory's target X_1
// (the data noised to the sampler's last time), in all D dimensions.
//
//   NoisedKl kl = noised_kl(mixture, alpha, sigma, samples /*[n, D]*/);
//   kl.total == kl.subspace + kl.complement
//
// Decomposition. When every component is isotropic or low rank (factor) with one common
// isotropic floor v, and all means and factor columns span a k-dimensional subspace span(B)
// (k <= kKnnMaxDim), then with m the means' common part orthogonal to B,
//   Q_t = Q_t^B (x) N(alpha m, (alpha^2 v + sigma^2) I_{D-k})     (coordinates B^T x, the rest).
// A sampler run with the exact score decouples in the same way: the score's complement part is
// -(x - alpha m) / (alpha^2 v + sigma^2), linear and the same in every direction, so the
// complement coordinates evolve as independent copies of one scalar linear recursion whose
// law is N(alpha m, w I) when it starts from N(0, I) (Liang, Huang & Chen 2024: its variance is
// exactly preserved by DDPM's and DDIM's original coefficients, and not by others). Then
//   KL(P || Q_t) = KL(P^B || Q_t^B) + (D - k)/2 (r - 1 - log r),  r = w / (alpha^2 v + sigma^2),
//   KL(P^B || Q_t^B) = -H(P^B) - E_P log q_t^B(B^T x)       (H: knn_entropy, log q exact),
// and w is the pooled second moment |x - alpha m - B B^T x|^2 / (D - k) averaged over samples.
// The complement term's own error is about 1/(2n) whatever D is (the pooled variance has
// relative spread sqrt(2 / (n (D - k)))); the subspace term carries the entropy estimate's bias,
// which a caller measures on exact draws of Q_t at the same n (`diffuse eval --noised-to`).
// Mixtures that do not decompose are measured whole (B = I, k = D) when D <= kKnnMaxDim.
#pragma once

#include "core/math/mixture.h"

#include <torch/torch.h>

#include <cstdint>
#include <optional>

namespace diffuse {

struct NoisedKl {
  double total = 0.0;       // subspace + complement, nats
  double subspace = 0.0;    // KL(P^B || Q_t^B): kNN entropy and exact log-density
  double complement = 0.0;  // (D - k)/2 (r - 1 - log r); 0 when k = D
  double complement_variance_ratio = 1.0;  // r; 1 when k = D
  std::int64_t subspace_dim = 0;           // k
  std::int64_t dim = 0;                    // D
};

// The shared subspace B [D, k] (float64, orthonormal columns; k may be 0) of a mixture that
// decomposes as above, and its complement's offset m [D] and floor v; nullopt otherwise.
struct SharedSubspace {
  torch::Tensor basis;
  torch::Tensor offset;
  double floor = 0.0;
};
std::optional<SharedSubspace> shared_subspace(const GaussianMixture& mixture);

// InputError when the samples are not [n, D] with n >= neighbours + 1, or the mixture neither
// decomposes with k <= kKnnMaxDim nor has D <= kKnnMaxDim. +infinity for non-finite samples.
NoisedKl noised_kl(const GaussianMixture& mixture, double alpha, double sigma,
                   const torch::Tensor& samples, int neighbours = 1);

}  // namespace diffuse

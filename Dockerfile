# GPU image of diffuse: CUDA 12.4 runtime + the official LibTorch 2.x (cxx11 ABI, CUDA 12.4).
# Build: docker build -t diffuse .      Run: docker run --gpus all diffuse sample --help
# The base image is pinned by tag; the LibTorch archive by version.
FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04 AS build
ARG LIBTORCH_URL=https://download.pytorch.org/libtorch/cu124/libtorch-cxx11-abi-shared-with-deps-2.4.1%2Bcu124.zip
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake ninja-build g++ curl unzip ca-certificates \
      libyaml-cpp-dev libcxxopts-dev libgtest-dev zlib1g-dev libpng-dev nlohmann-json3-dev \
    && rm -rf /var/lib/apt/lists/*
RUN curl -fsSL "$LIBTORCH_URL" -o /tmp/libtorch.zip && unzip -q /tmp/libtorch.zip -d /opt \
    && rm /tmp/libtorch.zip
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH=/opt/libtorch \
    && cmake --build /build -j "$(nproc)"

FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libyaml-cpp0.7 libpng16-16 libgomp1 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/libtorch/lib /opt/libtorch/lib
COPY --from=build /build/diffuse /usr/local/bin/diffuse
COPY --from=build /src/configs /opt/diffuse/configs
ENV LD_LIBRARY_PATH=/opt/libtorch/lib
WORKDIR /work
ENTRYPOINT ["diffuse"]

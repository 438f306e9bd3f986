# A worker of either pool (base or upscale) on a CUDA 13 runtime image with cuDNN 9; one process
# per GPU. libtorch's CUDA build comes from Maven (-Pcuda selects org.bytedeco:pytorch's
# linux-x86_64-gpu classifier); the CUDA libraries it links (cuBLAS, cuDNN 9, NCCL) come from this
# base image, and the driver (libcuda, libnvidia-ml) from the node through the NVIDIA container
# toolkit. Build context: the repository root, after
#   mvn -B -Pimage,cuda package -DskipTests
#   docker build -f ops/deploy/docker/worker.Dockerfile -t reelflow/worker:0.1.0 .
# Check a node with: docker run --gpus all reelflow/worker:0.1.0 doctor --backend cuda
FROM nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless libnccl2 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system reelflow && useradd --system --gid reelflow --home /app reelflow
WORKDIR /app
COPY ops/cli/target/lib/ /app/lib/
COPY ops/cli/target/reelflow-cli-0.1.0-SNAPSHOT.jar /app/reelflow-cli.jar
COPY ops/deploy/docker/worker-entrypoint.sh /app/worker-entrypoint.sh
USER reelflow
EXPOSE 9400
ENTRYPOINT ["/app/worker-entrypoint.sh"]
CMD ["worker", "--pool", "base", "--backend", "cuda"]

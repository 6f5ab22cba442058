# A model folder (config.json, tokenizer files, *.safetensors) as an image layer, for clusters that
# pre-pull images instead of reading object storage. Build with the model folder as the context:
#   docker build -f deploy/docker/model.Dockerfile -t headkv-model:qwen2.5-7b-instruct /path/to/model
FROM busybox:1.37.0
COPY --chown=10001:10001 . /model
USER 10001:10001
# Copied into the worker's model volume by the model-fetch init container (overlays/small).
CMD ["cp", "-a", "/model", "/models/model"]

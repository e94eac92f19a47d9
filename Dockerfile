# A raftkv member image, built from this repository: docker build -t raftkv .
# Run (host networking keeps the advertised addresses simple; see docs/deploy.md):
#   docker run -d --network host -v /var/lib/raftkv:/data raftkv serve --raft_id=1 \
#     --raft_addr=10.0.0.1:2380 --grpc_addr=10.0.0.1:2379 --raft_data_dir=/data \
#     --gossip_addr=10.0.0.1:7946 --gossip_seeds=10.0.0.1:7946,10.0.0.2:7946,10.0.0.3:7946 --bootstrap_expect=3
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY . .
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/LICENSE ./
USER node
VOLUME ["/data"]
EXPOSE 2379 2380 7946/tcp 7946/udp 9100
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["--help"]

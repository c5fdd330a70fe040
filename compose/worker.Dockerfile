# citusctl worker (Temporal worker that drives Docker through /var/run/docker.sock).
# Built by compose/docker-compose.yml with the repository root as context.
FROM node:20-bookworm-slim

WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY . .
RUN npm run build

ENV NODE_ENV=production
CMD ["node", "dist/worker/main.js"]

# The demo app. Build: docker build -t tessera-demo-api .
# Node 24 (an LTS line; 20 reached its end of life in April 2026). CI proves 22, 24 and 26.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN NX_DAEMON=false npx nx run demo-api:build --skip-nx-cache

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/apps/demo-api ./dist/apps/demo-api
# The demo page (GET /): WEB_ROOT's default, dist/apps/demo-web under the working directory.
COPY --from=build /app/dist/apps/demo-web ./dist/apps/demo-web
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:3000/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/apps/demo-api/main.js"]

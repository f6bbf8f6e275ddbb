import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The API the dev server proxies to (`npm run dev`); the built app is served by the API itself.
const api = process.env.PLASMATWIN_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/",
  build: {
    outDir: fileURLToPath(new URL("../api/static", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 200,
    // Two pages: the app, and the schema explorer (GraphiQL, issue 15) served at /explorer. React, GraphiQL and
    // CodeMirror are in the explorer's own chunks (its graphiql chunk is past the warning limit, expectedly); the app
    // shares only the i18n and session modules with it.
    rolldownOptions: {
      input: {
        main: fileURLToPath(new URL("index.html", import.meta.url)),
        explorer: fileURLToPath(new URL("explorer.html", import.meta.url)),
      },
      onwarn(warning, warn) {
        // GraphiQL's React libraries mark modules "use client", which means nothing to a plain browser bundle.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
        warn(warning);
      },
    },
  },
  server: {
    // The API refuses cross-origin WebSockets (notes/stack.md): the proxy presents the API's own
    // origin, so the dev server needs no change to the server's allowed origins.
    proxy: {
      "/graphql": {
        target: api, ws: true, changeOrigin: true,
        configure: (proxy) => {
          proxy.on("proxyReqWs", (proxyReq) => proxyReq.setHeader("origin", api));
        },
      },
      "/demo": { target: api, changeOrigin: true },
      "/health": { target: api, changeOrigin: true },
    },
  },
});

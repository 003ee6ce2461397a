// Builds the two browser apps (customer web chat, advisor console) into
// server/internal/webapp/dist/app, which assistd embeds. `make web` runs it.
import { resolve } from "node:path";
import { defineConfig } from "vite";

const here = import.meta.dirname;

export default defineConfig({
  root: here,
  base: "/",
  publicDir: false,
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: resolve(here, "../../server/internal/webapp/dist/app"),
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    // No inline scripts or styles: the pages' Content-Security-Policy
    // allows only same-origin files.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: {
        customer: resolve(here, "customer.html"),
        console: resolve(here, "console.html"),
      },
    },
  },
});

import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// One build for every tenant: `base: "./"` makes asset URLs relative, and the
// tenant's settings come from config.json next to index.html at run time.
export default defineConfig({
  base: "./",
  plugins: [react()],
  build: {
    outDir: "dist",
    sourcemap: false,
    // No inlined assets as data: URLs, so a strict CSP (img-src 'self') holds.
    assetsInlineLimit: 0,
  },
  server: { host: "127.0.0.1", port: 5173, strictPort: true },
});

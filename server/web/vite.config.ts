import { defineConfig } from "vite";

// The console is served by the Go binary from dist/ (embedded with
// go:embed): index.html at /, hashed files under /assets/.
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    sourcemap: false,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 1000,
  },
  server: {
    // `npm run dev` against a server on :8080.
    proxy: { "/v1": "http://localhost:8080" },
  },
});

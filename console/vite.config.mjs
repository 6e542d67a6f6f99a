// Builds the web console into <repo>/build/console (override with --outDir).
// The node serves that folder on its admin port; the app calls the admin API
// with relative URLs, so it works from any host and port.
//
// For work on the console against a running node:
//   HEARTH_ADMIN=127.0.0.1:8081 npx vite --config console/vite.config.mjs
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const admin = `http://${process.env.HEARTH_ADMIN || '127.0.0.1:8081'}`;
const apiRoutes = ['/health', '/status', '/cluster', '/functions', '/actors', '/dead-letters', '/checkpoints'];

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  publicDir: false,
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../build/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2020',
    assetsDir: 'assets',
    reportCompressedSize: false,
  },
  server: {
    proxy: Object.fromEntries(apiRoutes.map((route) => [route, { target: admin }])),
  },
});

// The web UI (React), built into dist/web and served by `baton serve`. Everything is bundled: no CDN.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The build also runs inside the test runner (NODE_ENV=test): Vite and the React plugin must both build for
// production (React's production build, the production JSX runtime).
process.env.NODE_ENV = 'production';

export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  base: '/',
  mode: 'production',
  plugins: [react()],
  build: {
    outDir: new URL('../dist/web', import.meta.url).pathname,
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
  },
  logLevel: 'warn',
});

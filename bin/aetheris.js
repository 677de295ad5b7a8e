#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm run build` (run by `npm start` and `npm test`).
import '../dist/src/cli/main.js';

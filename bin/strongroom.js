#!/usr/bin/env node
// The `strongroom` command. The TypeScript sources are compiled to dist/ by `npm install`
// (the `prepare` script) or `npm run build`.
import '../dist/src/cli/main.js';

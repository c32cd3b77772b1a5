#!/usr/bin/env node
'use strict';
// `swarm` CLI: the compiled entry point lives in ../dist (npm run build).
require('../dist/main.js').run();

// Node resolves a package's "main" against the node_modules symlink, not the workspace folder, so a
// "main" of ../../dist/... would point outside the repository; this file is resolved by its real path.
module.exports = require('../../dist/libs/suite/src/index.js');

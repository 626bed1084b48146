// `loyalist` run from the TypeScript sources (node --import tsx …), as bin/loyalist.js
// runs the compiled dist/: lets the embedded suite start real processes without a build.
import { main } from '../../src/cli.js';

main(process.argv.slice(2)).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

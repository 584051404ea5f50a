// `make dev` entry point; the environment itself is local/dev.ts.
import { main } from '../local/dev.js';

await main();

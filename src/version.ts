import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/** The package version, sent as `User-Agent: relevo/<version>` and in the OpenAPI document. */
export const VERSION: string = (require('../package.json') as { version: string }).version;

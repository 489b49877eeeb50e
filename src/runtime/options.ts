/** Option parsing for the runtime's factories (shared with every other factory). */
export { fn, parseOptions } from '../options.js';

import { describe } from 'vitest';
import { start } from '../../examples/express-refunds/server.js';
import { refundsSmokeTest } from './refunds-flow.js';

describe('examples/express-refunds', () => {
  refundsSmokeTest(start);
});
